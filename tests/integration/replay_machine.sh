#!/usr/bin/env bash
# The replay measures what the machine did to it (issue 14, item 9;
# docs/replay.md "Self-check first"): run-queue wait, steal, timer and work
# lateness, how much lateness it compensated, and on a missed self-check what
# limited it. As root it runs at SCHED_FIFO 1 unless --no-rt. An attempt the
# machine delayed is run again, the least delayed one kept and every attempt
# reported; a replay that really disagrees with its recording still misses.
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
# Every CPU phase is counted; a blocking phase sleeps on a timer only when
# it is longer than the timer's wake-up latency measured at start, which on
# a loaded machine (at SCHED_OTHER) can exceed them all.
assert m["work_phases"] > 0, m
assert m["timer_sleeps"] > 0 or m["timer_late_p99_ns"] == 0, m
assert m["run_queue_share"] is None or 0 <= m["run_queue_share"] <= 1, m
assert m["steal_share"] is None or 0 <= m["steal_share"] <= 1, m
# Attempts: at least one; a new one only after a delayed one; exactly one
# kept, the least delayed by the machine (never chosen by its check), and
# the run's figures are the kept attempt's.
att = sc["attempts"]
assert 1 <= len(att) <= 3, att
assert [a["attempt"] for a in att] == list(range(1, len(att) + 1)), att
assert all(a["delayed"] for a in att[:-1]), att
kept = [a for a in att if a["kept"]]
assert len(kept) == 1, att
delay = lambda a: (a["run_queue_share"] or 0) + (a["steal_share"] or 0)
assert all(delay(kept[0]) <= delay(a) for a in att), att
assert kept[0]["missed"] == sc["missed"] and kept[0]["checked"] == sc["checked"], (kept, sc)
assert kept[0]["wall_s"] == sc["wall_s"], (kept, sc)
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

# Every attempt runs when no delay is small enough (--max-delay 0): both are
# reported, the least delayed is kept, its trace is the run's, and no other
# attempt's trace is left behind.
rc=0
"$GILSCOPE" replay --no-rt --json --attempts 2 --max-delay 0 "$WORK/orig.gst" \
  -o "$WORK/e.gst" > "$WORK/e.json" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "replay --attempts 2 exited $rc"
check "$WORK/e.json" "SCHED_OTHER" || fail "replay --attempts 2: machine figures"
python3 - "$WORK/e.json" <<'PY' || fail "replay --attempts 2 --max-delay 0: attempts"
import json, sys
sc = json.load(open(sys.argv[1]))["self_check"]
assert len(sc["attempts"]) == 2 and all(a["delayed"] for a in sc["attempts"]), sc["attempts"]
PY
[ -s "$WORK/e.gst" ] || fail "the kept attempt's trace is not at -o"
[ -z "$(ls "$WORK" | grep attempt)" ] || fail "attempt traces left behind: $(ls "$WORK")"

# A replay that really disagrees with its recording fails its self-check,
# however many attempts: told a 100 us interval for a recording made at
# 5 ms, the echo server's waits after its I/O calls (the original's wait
# p90: an interval behind the CPU thread) all come out shorter than the
# original's p90, a rank no sampling slack reaches (the slack never reaches
# rank 0 or 1), and its loss per I/O call far lower.
rc=0
"$GILSCOPE" replay --json --recorded-interval 100us "$WORK/orig.gst" -o "$WORK/f.gst" \
  > "$WORK/f.json" 2> "$WORK/f.err" || rc=$?
[ "$rc" -eq 3 ] || fail "a replay under the wrong interval exited $rc, not 3: $(cat "$WORK/f.err")"
check "$WORK/f.json" "SCHED_" missed || fail "wrong interval: JSON"
python3 - "$WORK/f.json" <<'PY' || fail "wrong interval: the check"
import json, sys
d = json.load(open(sys.argv[1])); sc = d["self_check"]
assert d["recorded"]["interval_us"] == 100, d["recorded"]
rows = [r for r in sc["vs_original"] if r["scope"] == "overall" and "within_tolerance" in r]
missed = [r for r in rows if not r["within_tolerance"]]
assert len(missed) == sc["missed"] >= 1, (sc["missed"], rows)
print("wrong interval: missed " + ", ".join("%s %.0f -> %.0f" % (r["figure"], r["a"], r["b"])
                                            for r in missed))
PY

# One replay at a time on a machine: while the replay lock is held (here by
# flock(1), until the replay says it waits), a replay waits for it, says so,
# and reports the wait.
lock=/run/lock/gilscope-replay.lock
[ -w /run/lock ] || lock=/tmp/gilscope-replay.lock
if command -v flock > /dev/null; then
  flock "$lock" -c "touch '$WORK/held'; for i in \$(seq 600); do
    grep -q 'waiting for another gilscope replay' '$WORK/g.err' 2>/dev/null && exit 0
    sleep 0.1; done; exit 1" &
  holder=$!
  for i in $(seq 600); do [ -e "$WORK/held" ] && break; sleep 0.1; done
  [ -e "$WORK/held" ] || fail "flock $lock never held the lock"
  rc=0
  "$GILSCOPE" replay --json --no-rt --attempts 1 "$WORK/orig.gst" -o "$WORK/g.gst" \
    > "$WORK/g.json" 2> "$WORK/g.err" || rc=$?
  wait "$holder" || fail "the replay never said it waited for the lock: $(cat "$WORK/g.err")"
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "replay behind the lock exited $rc"
  python3 - "$WORK/g.json" <<'PY' || fail "the lock wait is not reported"
import json, sys
a = json.load(open(sys.argv[1]))["self_check"]["attempts"]
assert len(a) == 1 and a[0]["lock_wait_s"] > 0, a
PY
fi

rc=0
"$GILSCOPE" replay --rt --os-prio "$WORK/orig.gst" -o "$WORK/c.gst" > /dev/null 2> "$WORK/c.err" || rc=$?
[ "$rc" -eq 2 ] || fail "--rt --os-prio exited $rc, not 2"

require_root
rc=0
"$GILSCOPE" replay --rt --json "$WORK/orig.gst" -o "$WORK/d.gst" > "$WORK/d.json" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "replay --rt exited $rc"
check "$WORK/d.json" "SCHED_FIFO 1" || fail "replay --rt: machine figures"
echo "replay machine: ok"
