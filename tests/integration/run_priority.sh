#!/usr/bin/env bash
# gilscope run priority: latency fields, --pin with its hog, --sched fifo
# (root) or its clear refusal (not root).
source "$(dirname "$0")/lib.sh"
CHECK="python3 $GILSCOPE_SRC/tests/integration/run_trace_check.py"

"$GILSCOPE" run priority --policy cpython -k 1 -d 0.3 --period-us 2000 --json \
  -o "$WORK/p.gst" > "$WORK/p.json" || fail "run"
for f in samples p50 p90 p99 max mean; do
  json_get "$WORK/p.json" "float(d['latency_us']['$f'])" >/dev/null || fail "no latency_us.$f"
done
json_get "$WORK/p.json" \
  '(lambda l: l["samples"] > 0 and l["p50"] <= l["p90"] <= l["p99"] <= l["max"] or exit(1))(d["latency_us"])' \
  >/dev/null || fail "percentiles not ordered"
$CHECK "$WORK/p.gst" match "$WORK/p.json" || fail "trace vs counters"
$CHECK "$WORK/p.gst" summary > "$WORK/s.json"
json_get "$WORK/s.json" '[t for t in d["threads"] if t["name"] == "high-prio" and t["gil_prio"] == 10] or exit(1)' \
  >/dev/null || fail "high-prio thread block"

"$GILSCOPE" run priority --pin -k 1 -d 0.3 --json > "$WORK/pin.json" || fail "--pin"
json_get "$WORK/pin.json" 'd["pinned"] and d["hog_busy_fraction"] > 0 or exit(1)' >/dev/null \
  || fail "--pin: no hog"

if [ "$(id -u)" = 0 ]; then
  rc=0  # (set -e: a bare failing command would end the test here, unexplained)
  "$GILSCOPE" run priority --sched fifo --pin -k 1 -d 0.3 --json > "$WORK/f.json" \
    2> "$WORK/f.err" || rc=$?
  if [ "$(cat /proc/sys/kernel/sched_rt_runtime_us)" = -1 ]; then
    [ $rc = 1 ] && grep -q "RT throttling" "$WORK/f.err" || fail "fifo+pin without throttling"
  else
    [ $rc = 0 ] || fail "--sched fifo as root: $(cat "$WORK/f.err")"
    [ "$(json_get "$WORK/f.json" 'd["sched"]')" = fifo ] || fail "sched field"
  fi
else
  if "$GILSCOPE" run priority --sched fifo -d 0.1 2> "$WORK/f.err"; then
    echo "note: SCHED_FIFO allowed without root (CAP_SYS_NICE or RLIMIT_RTPRIO)"
  else
    grep -q "CAP_SYS_NICE" "$WORK/f.err" || fail "fifo refusal unclear"
  fi
fi
echo ok
