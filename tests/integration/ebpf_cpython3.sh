#!/bin/bash
# gilscope record on unmodified CPython 3.x (uprobes on take_gil/drop_gil):
# two CPU-bound threads counting down. The waiter asks the holder to drop
# after the 5 ms switch interval, so forced releases come ~5 ms after the
# waiter's request and no forced hold is shorter than a few ms. Hold times
# themselves also include the holder's preemption by other processes and the
# waiter's wait for a CPU on a busy 2-core VM (the scheduler events show
# both), so the checks use the
# waiter's view (request -> forced release) and the lower quartile of holds.
# Runs on 3.11 and on 3.8 (take_gil has a .constprop clone there) and 3.13.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
require_btf

check_version() {
  local ver=$1 units=$2 py trace="$WORK/cd-$1.gst"
  py=$(find_python "$ver")
  "$GILSCOPE" record -o "$trace" -- "$py" "$PYDIR/countdown.py" "$units" 2 \
    2> "$WORK/rec-$ver.err" || { cat "$WORK/rec-$ver.err" >&2; fail "record $ver failed"; }
  grep -q "estimated probe cost" "$WORK/rec-$ver.err" || fail "$ver: no overhead estimate printed"
  python3 "$PYDIR/gstrace.py" "$trace" > "$WORK/cd-$ver.json"
  if "$GILSCOPE" report --help >/dev/null 2>&1; then
    "$GILSCOPE" report -s -q "$trace" > "$WORK/cd-$ver.report" 2>&1 \
      || { cat "$WORK/cd-$ver.report" >&2; fail "$ver: gilscope report rejects the trace"; }
  fi
  PYTHONPATH="$PYDIR" python3 - "$WORK/cd-$ver.json" "$ver" <<'PY'
import json, sys
import gstrace
d = json.load(open(sys.argv[1])); ver = sys.argv[2]
h, c = d["header"], d["counts"]
check = gstrace.checker(ver, d)
check(h["source"] == 2 and h["runtime"] == 3, "header source/runtime")
check(h["policy"] == "cpython-" + ver, "policy_name %r" % h["policy"])
check(h["interval_us"] == 5000 and h["flags"] & 1, "interval/sched flag")
check(d["end"] and d["end"]["total_lost"] == 0, "lost events")
check(c.get("acquired", 0) >= c.get("acquire_request", 0) - 3 and
      abs(c.get("release", 0) - c.get("acquired", 0)) <= 3, "unbalanced counts")
check(c.get("sched_switch_in", 0) > 0 and c.get("sched_switch_out", 0) > 0 and
      c.get("sched_wakeup", 0) > 0, "no scheduler events")
f = d["hold_by_reason"].get("forced")
check(f and f["n"] >= 30, "too few forced releases for statistics")
check(d["waiter_timer_wakes"] >= 30, "too few waiter wake-ups before forced releases")
p50 = d["waiter_timer_wake_p50_us"] / 1000.0
check(3.0 <= p50 <= 8.0, "waiter's request -> timer wake-up median %.2f ms not in 3-8 ms" % p50)
check(f["p25_us"] >= 3000, "forced holds p25 %.2f ms < 3 ms" % (f["p25_us"] / 1000.0))
print("%s: %d forced releases; waiter timer wake p50 %.2f ms; request -> forced "
      "release p50 %.2f ms; forced hold p25/p50 %.2f/%.2f ms (on-CPU p50 %.2f ms)"
      % (ver, f["n"], p50, d["forced_after_request_p50_us"] / 1e3, f["p25_us"] / 1e3,
         f["p50_us"] / 1e3, d["forced_hold_oncpu_p50_us"] / 1e3))
PY
}

check_version 3.11 60000000
check_version 3.8 40000000
check_version 3.13 40000000

# -p PID on a running process, stopped by SIGINT: a complete trace, flagged
# interrupted, and no probe left behind. Every thread's acquisitions,
# requests and releases balance to within the one a thread may be in the
# middle of at each end (the probes attach and detach one by one, over up to
# a second under load: a window per probe once gave a 3.12 thread 5-6
# releases too many in 2 s; python/thread_balance.py).
py=$(find_python 3.11)
"$py" "$PYDIR/countdown.py" 2000000000 2 &
target=$!
sleep 0.5
"$GILSCOPE" record -p "$target" -o "$WORK/attach.gst" 2> "$WORK/attach.err" &
rec=$!
# 1.5 s of counting: from record's "recording" line, which it prints once
# every probe is in (attaching takes over a second under load)
for _ in $(seq 600); do grep -q ": recording " "$WORK/attach.err" && break
  kill -0 "$rec" 2>/dev/null || break; sleep 0.05; done
grep -q ": recording " "$WORK/attach.err" \
  || { cat "$WORK/attach.err" >&2; fail "record -p never said it was recording"; }
sleep 1.5
kill -INT "$rec"
wait "$rec" || { cat "$WORK/attach.err" >&2; fail "record -p exited non-zero after SIGINT"; }
kill "$target"; wait "$target" 2>/dev/null || true
python3 "$PYDIR/gstrace.py" "$WORK/attach.gst" > "$WORK/attach.json"
python3 - "$WORK/attach.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["end"] is not None, "no END block"
assert d["end"]["flags"] & 1, "END not flagged interrupted"
# how many switches 1.5 s hold depends on the CPU the machine gives the
# target (9 at load 20, ~300 when quiet): only that some were recorded
assert d["counts"].get("acquired", 0) > 0, d["counts"]
PY
python3 "$PYDIR/thread_balance.py" "$WORK/attach.gst" "3.11 -p" || fail "3.11 -p: unbalanced"
if command -v bpftool >/dev/null; then
  bpftool link list 2>/dev/null | grep "$target" > /dev/null && fail "a link still refers to PID $target"
fi

# -p on 3.12 (take_gil finds its GIL through tstate->interp, drop_gil uses
# the one its thread took), stopped by -d: balanced per thread, and equal
# per thread to bpftrace's count of take_gil entries/returns and drop_gil
# entries on the same process over the part of the run both cover.
require_cmd bpftrace readelf
py=$(find_python 3.12)
lib=$(ldd "$py" | awk '/libpython/ { print $3 }'); lib=$(readlink -f "${lib:-$py}")
take=$(readelf -sW "$lib" | awk '$8 == "take_gil" && !n++ { print "0x" $2 }')
drop=$(readelf -sW "$lib" | awk '$8 == "drop_gil" && !n++ { print "0x" $2 }')
[ -n "$take" ] && [ -n "$drop" ] || fail "$lib: no take_gil/drop_gil in its .symtab"
"$py" "$PYDIR/countdown.py" 2000000000 2 &
target=$!
bpftrace -p "$target" -e "BEGIN { printf(\"ready\\n\"); }
  uprobe:$lib:$take /pid == $target/ { printf(\"%llu %d %d q\\n\", nsecs, pid, tid); }
  uretprobe:$lib:$take /pid == $target/ { printf(\"%llu %d %d a\\n\", nsecs, pid, tid); }
  uprobe:$lib:$drop /pid == $target/ { printf(\"%llu %d %d r\\n\", nsecs, pid, tid); }" \
  > "$WORK/bt312.log" 2>&1 &
bt=$!
for _ in $(seq 300); do grep -q ready "$WORK/bt312.log" && break; sleep 0.1; done
grep -q ready "$WORK/bt312.log" || { cat "$WORK/bt312.log" >&2; kill "$target" "$bt"; fail "bpftrace did not start"; }
"$GILSCOPE" record -p "$target" -d 2 -o "$WORK/attach312.gst" 2> "$WORK/attach312.err" \
  || { cat "$WORK/attach312.err" >&2; kill "$target" "$bt"; fail "record -p on 3.12 failed"; }
kill -INT "$bt"
for _ in $(seq 50); do kill -0 "$bt" 2>/dev/null || break; sleep 0.1; done
kill "$bt" 2>/dev/null || true; wait "$bt" 2>/dev/null || true
kill "$target"; wait "$target" 2>/dev/null || true
python3 "$PYDIR/thread_balance.py" "$WORK/attach312.gst" "3.12 -p" || fail "3.12 -p: unbalanced"
python3 "$PYDIR/bpftrace_window.py" "$WORK/attach312.gst" "$WORK/bt312.log" \
  || fail "3.12 -p: counts differ from bpftrace's"

# top --json: one object per interval with per-thread shares
"$GILSCOPE" top --json -i 0.5 -- "$py" "$PYDIR/countdown.py" 40000000 2 > "$WORK/top.json" \
  2> "$WORK/top.err" || { cat "$WORK/top.err" >&2; fail "top failed"; }
python3 - "$WORK/top.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) >= 2, "expected several intervals, got %d" % len(lines)
for l in lines:
    total = sum(t["held_pct"] for t in l["threads"])
    assert total <= 101, "held shares add up past 100%%: %r" % l
# over the run both CPU threads held the GIL a fair share (not per interval:
# on a loaded machine one thread can miss a whole interval for lack of CPU)
held = {}
for l in lines:
    for t in l["threads"]:
        held[t["tid"]] = held.get(t["tid"], 0) + t["held_pct"] * l["interval_s"]
held = sorted(held.values(), reverse=True)
assert len(held) >= 2 and held[1] > 0.1 * held[0], "one thread never held the GIL: %r" % held
assert any(t["forced_releases"] > 0 and t["hold_hist"] for l in lines for t in l["threads"]), lines
print("top: %d intervals, GIL-seconds held per thread %r" % (len(lines), [round(h / 100, 3) for h in held]))
PY
echo "PASS"
