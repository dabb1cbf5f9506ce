#!/usr/bin/env bash
# gilscope run convoy: the three phases, the traced (policy) phase's counters
# against its trace, --nonblocking-first, and prio when this libgil has it.
source "$(dirname "$0")/lib.sh"
CHECK="python3 $GILSCOPE_SRC/tests/integration/run_trace_check.py"

"$GILSCOPE" run convoy --policy cpython --cpu-threads 1 -d 0.3 --json \
  -o "$WORK/c.gst" > "$WORK/c.json" || fail "cpython run"
for f in solo_rps rps ceiling_rps cpu_work_per_s ceiling_cpu_work_per_s; do
  json_get "$WORK/c.json" "float(d['$f'])" >/dev/null || fail "no $f"
done
json_get "$WORK/c.json" 'd["requests"]["solo"] > 0 and d["requests"]["ceiling"] > 0 or exit(1)' \
  >/dev/null || fail "no requests"
[ "$(json_get "$WORK/c.json" 'd["traced_phase"]')" = policy ] || fail "traced phase"
[ "$(json_get "$WORK/c.json" 'sorted(t["role"] for t in d["threads"])')" = "['cpu', 'server']" ] \
  || fail "threads of the policy phase"
[ -s "$WORK/c.gst" ] || fail "trace empty"
$CHECK "$WORK/c.gst" match "$WORK/c.json" || fail "trace vs counters"
$CHECK "$WORK/c.gst" holds || fail "overlapping holds"
# The server counts one request more than the client's window (warm-up).
json_get "$WORK/c.json" \
  '[t["ops"] for t in d["threads"] if t["role"] == "server"][0] == d["requests"]["policy"] + 1 or exit(1)' \
  >/dev/null || fail "server ops vs client requests"

# --client-cmd: bench/python/echo_client.py as the client process; the
# server counts from its first reply to its last (one more than the window).
"$GILSCOPE" run convoy --policy cpython -k 1 -d 0.3 --json -o "$WORK/x.gst" \
  --client-cmd "python3 $GILSCOPE_SRC/bench/python/echo_client.py" > "$WORK/x.json" \
  || fail "--client-cmd run"
json_get "$WORK/x.json" \
  'd["client_cmd"][1].endswith("echo_client.py") and d["client_units"] == 0 or exit(1)' \
  >/dev/null || fail "client_cmd in the JSON"
json_get "$WORK/x.json" \
  '[t["ops"] for t in d["threads"] if t["role"] == "server"][0] == d["requests"]["policy"] + 1 and d["rps"] > 0 or exit(1)' \
  >/dev/null || fail "--client-cmd: server ops vs requests"
$CHECK "$WORK/x.gst" match "$WORK/x.json" || fail "--client-cmd: trace vs counters"
json_get "$WORK/c.json" 'd["client_cmd"] is None or exit(1)' >/dev/null || fail "client_cmd null"
if "$GILSCOPE" run convoy -d 0.2 --client-cmd false > /dev/null 2> "$WORK/f.err"; then
  fail "--client-cmd false succeeded"
fi
grep -q "client-cmd false exited with status 1" "$WORK/f.err" || fail "failing client: $(cat "$WORK/f.err")"
"$GILSCOPE" run convoy -d 0.2 --client-cmd true --client-units 5 > /dev/null 2> "$WORK/u.err" \
  && fail "--client-units with --client-cmd accepted"
grep -q "client-units" "$WORK/u.err" || fail "--client-units refusal: $(cat "$WORK/u.err")"

"$GILSCOPE" run convoy --policy fifo -k 2 -d 0.2 --nonblocking-first --think-us 0 \
  --json > "$WORK/nb.json" || fail "nonblocking-first run"
json_get "$WORK/nb.json" 'd["nonblocking_first"] and d["think_us"] == 0 or exit(1)' \
  >/dev/null || fail "nb flags"
[ "$(json_get "$WORK/nb.json" 'len(d["threads"])')" = 3 ] || fail "k=2 threads"

if "$GILSCOPE" run convoy --policy prio -d 0.2 --json > "$WORK/p.json" 2> "$WORK/p.err"; then
  [ "$(json_get "$WORK/p.json" 'd["policy"]')" = prio ] || fail "prio policy name"
else
  rc=$?
  [ $rc = 1 ] || fail "prio: exit $rc"
  grep -q "prio" "$WORK/p.err" || fail "prio error does not say why: $(cat "$WORK/p.err")"
  echo "note: prio policy not in this libgil yet"
fi
"$GILSCOPE" run convoy -d 0.2 | grep ceiling > /dev/null || fail "summary"
echo ok
