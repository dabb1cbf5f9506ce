#!/usr/bin/env bash
# gilscope run countdown: JSON fields, the trace, and the facts that hold by
# construction (fifo never fails a handoff; legacy's releaser re-takes).
source "$(dirname "$0")/lib.sh"
CHECK="python3 $GILSCOPE_SRC/tests/integration/run_trace_check.py"

"$GILSCOPE" run countdown --policy fifo --interval-us 500 --threads 2 \
  --units 400000 --json -o "$WORK/fifo.gst" > "$WORK/fifo.json" || fail "fifo run"
for f in wall_s single_thread_wall_s "handoffs['attempted']" "handoffs['failed']" \
         "runtime['acquisitions']" "runtime['switches']" "params['interval_us']"; do
  json_get "$WORK/fifo.json" "d[\"${f%%[*}\"]${f#"${f%%[*}"}" >/dev/null || fail "no $f"
done
[ "$(json_get "$WORK/fifo.json" 'd["policy"]')" = fifo ] || fail "policy"
[ "$(json_get "$WORK/fifo.json" 'd["handoffs"]["failed"]')" = 0 ] || fail "fifo failed a handoff"
[ "$(json_get "$WORK/fifo.json" 'len(d["threads"])')" = 2 ] || fail "threads"
[ "$(json_get "$WORK/fifo.json" 'sum(t["work_units"] for t in d["threads"])')" = 400000 ] \
  || fail "work split"
[ -s "$WORK/fifo.gst" ] || fail "trace empty"
$CHECK "$WORK/fifo.gst" match "$WORK/fifo.json" || fail "trace vs counters"
$CHECK "$WORK/fifo.gst" holds || fail "overlapping holds"
$CHECK "$WORK/fifo.gst" summary > "$WORK/sum.json"
[ "$(json_get "$WORK/sum.json" 'd["header"]["policy_name"]')" = fifo ] || fail "header policy"
[ "$(json_get "$WORK/sum.json" 'd["header"]["interval_us"]')" = 500 ] || fail "header interval"
[ "$(json_get "$WORK/sum.json" 'd["end"]["flags"]')" = 0 ] || fail "END flags"
json_get "$WORK/sum.json" '"countdown" in d["header"]["command"] or exit(1)' >/dev/null \
  || fail "header command"

# Legacy: two threads re-taking the lock they just released. On a loaded
# machine one thread can finish before the other ever runs (no contention,
# so no handoff at all; seen in 2 of 3 runs at load ~4): such a run says
# nothing, so try again, up to 5 times, each run twice as long as the one
# before (0.15 s to 2.4 s), so that the other thread has ever more time to
# be scheduled. (Pinning both to one CPU is no cure: there a release wakes
# the waiter onto the CPU and the handoff succeeds, so nothing fails.)
contended=0
units=4000000
for try in 1 2 3 4 5; do
  "$GILSCOPE" run countdown --policy legacy --threads 2 --units $units --json \
    > "$WORK/legacy.json" || fail "legacy run"
  units=$((units * 2))
  if json_get "$WORK/legacy.json" 'd["handoffs"]["attempted"] >= 100 or exit(1)' >/dev/null; then
    contended=1
    break
  fi
done
[ $contended = 1 ] || fail "legacy: the two threads never competed in 5 runs"
json_get "$WORK/legacy.json" 'd["handoffs"]["failed"] > 0 or exit(1)' >/dev/null \
  || fail "legacy: no failed handoff in $(json_get "$WORK/legacy.json" 'd["handoffs"]["attempted"]') attempts"
json_get "$WORK/legacy.json" 'd["handoffs"]["failed"] <= d["handoffs"]["attempted"] or exit(1)' \
  >/dev/null || fail "failed > attempted"
"$GILSCOPE" run countdown --policy legacy --sem --check-ticks 50 --threads 2 \
  --units 200000 --json > "$WORK/sem.json" || fail "legacy --sem run"
json_get "$WORK/sem.json" 'd["params"]["sem"] and d["params"]["check_ticks"] == 50 or exit(1)' \
  >/dev/null || fail "--sem params"

# Human summary.
"$GILSCOPE" run countdown --threads 2 --units 200000 | grep "handoffs:" > /dev/null || fail "summary"
echo ok
