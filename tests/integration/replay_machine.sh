#!/usr/bin/env bash
# The replay measures what the machine did to it (issue 14, item 9;
# docs/replay.md "Self-check first"): run-queue wait, steal, timer and work
# lateness, how much lateness it compensated, and on a missed self-check what
# limited it. As root it runs at SCHED_FIFO 1 unless --no-rt.
source "$(dirname "$0")/lib.sh"

"$GILSCOPE" run convoy --cpu-threads 1 --duration 0.3 --policy cpython \
  -o "$WORK/orig.gst" >/dev/null || fail "gilscope run convoy"

check() {  # check JSON EXPECT_SCHED [missed]
python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); want = sys.argv[2]
missed = len(sys.argv) > 3
assert want in d["scheduling"], (want, d["scheduling"])
sc = d["self_check"]; m = sc["machine"]
for k in ("timer_sleeps", "timer_late_p50_ns", "timer_late_p99_ns", "work_phases",
          "work_over_p50_ns", "work_over_p99_ns", "compensated_ns"):
    assert isinstance(m[k], int) and m[k] >= 0, (k, m[k])
assert m["timer_late_p50_ns"] <= m["timer_late_p99_ns"], m
assert m["work_over_p50_ns"] <= m["work_over_p99_ns"], m
assert m["work_phases"] > 0 and m["timer_sleeps"] > 0, m
assert m["run_queue_share"] is None or 0 <= m["run_queue_share"] <= 1, m
assert m["steal_share"] is None or 0 <= m["steal_share"] <= 1, m
if missed:
    assert not sc["passed"], sc
    assert m["limited_by"], m
else:
    assert ("limited_by" in m) == (not sc["passed"]), m
print("scheduling: %s; run queue %s, steal %s, timers p99 %d ns" % (
    d["scheduling"], m["run_queue_share"], m["steal_share"], m["timer_late_p99_ns"]))
PY
}

rc=0
"$GILSCOPE" replay --no-rt --json "$WORK/orig.gst" -o "$WORK/a.gst" > "$WORK/a.json" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "replay --no-rt exited $rc"
check "$WORK/a.json" "SCHED_OTHER (--no-rt)" || fail "replay --no-rt: machine figures"

# A tolerance no replay meets: the self-check misses and says what limited it.
rc=0
"$GILSCOPE" replay --no-rt --tolerance 0.0001 --sigmas 0 "$WORK/orig.gst" -o "$WORK/b.gst" > "$WORK/b.txt" || rc=$?
[ "$rc" -eq 3 ] || fail "a missed self-check exited $rc, not 3"
grep -q '^Machine during the replay: ' "$WORK/b.txt" || fail "no machine line: $(cat "$WORK/b.txt")"
grep -q '^What limited it: ' "$WORK/b.txt" || fail "no verdict: $(cat "$WORK/b.txt")"
"$GILSCOPE" replay --no-rt --json --tolerance 0.0001 --sigmas 0 "$WORK/orig.gst" -o "$WORK/b.gst" > "$WORK/b.json" || true
check "$WORK/b.json" "SCHED_OTHER" missed || fail "missed self-check: JSON"

rc=0
"$GILSCOPE" replay --rt --os-prio "$WORK/orig.gst" -o "$WORK/c.gst" > /dev/null 2> "$WORK/c.err" || rc=$?
[ "$rc" -eq 2 ] || fail "--rt --os-prio exited $rc, not 2"

require_root
rc=0
"$GILSCOPE" replay --rt --json "$WORK/orig.gst" -o "$WORK/d.gst" > "$WORK/d.json" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "replay --rt exited $rc"
check "$WORK/d.json" "SCHED_FIFO 1" || fail "replay --rt: machine figures"
echo "replay machine: ok"
