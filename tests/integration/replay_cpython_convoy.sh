#!/usr/bin/env bash
# The what-if replay of a recorded CPython 3.11 echo convoy (issue 14, item
# 9; docs/replay.md "Self-check first"), the recording of
# docs/tutorial-whatif.md. Its self-check failed on every such recording;
# what was fixed, and is asserted here:
#  - the runtime's own cost inside a hold made the server's 2.2 us holds
#    3.5-3.9 us (hold p50 1.6-1.8x): it is measured and taken off;
#  - CPython's main thread never releases the GIL on its way out, so its
#    last hold ran to the end of the recording, long after the process
#    exited: the replay spun it (~0.7 s) against the CPU thread. The phases
#    now stop an open hold where the scheduler shows its holder asleep.
#  - a thread cut by a forced drop came back in ~3 us in the replay (at
#    SCHED_FIFO) where CPython's took ~16 us, found the echo server holding,
#    and took the GIL at its next sendall: twice the convoy's 5 ms waits. The
#    phases now keep each cut's way back and the executor reproduces it.
source "$(dirname "$0")/lib.sh"
require_root
PY=$(find_python 3.11)

cp "$GILSCOPE_SRC/docs/examples/echo_service.py" "$WORK/"
cd "$WORK"
"$GILSCOPE" record -o svc.gst -- "$PY" echo_service.py 3 1 > record.out 2>&1 ||
  fail "gilscope record: $(cat record.out)"

rc=0
"$GILSCOPE" replay --json svc.gst -o self.gst > self.json 2> self.err || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "replay exited $rc: $(cat self.err)"

python3 - self.json "$rc" <<'PY' || fail "replay of a CPython 3.11 echo convoy (above)"
import json, sys
d = json.load(open(sys.argv[1])); rc = int(sys.argv[2])
th = {t["name"]: t for t in d["threads"]}
main = next(t for t in d["threads"] if t["name"] not in ("server", "cpu0"))
sc = d["self_check"]
print("main thread: CPU %.1f ms, %.1f ms of its open last hold slept through" %
      (main["cpu_ns"] / 1e6, main["open_hold_trimmed_ns"] / 1e6))
print("cpu0: %d cuts, came back %.1f us (p50) after the switch" %
      (th["cpu0"]["cuts"], th["cpu0"]["return_p50_ns"] / 1e3))
for r in sc["vs_original"]:
    if r["scope"] == "overall" and "within_tolerance" in r:
        print("  %-22s %12.1f %12.1f %5.2fx %s" % (r["figure"], r["a"], r["b"], r["ratio"] or 0,
              "ok" if r["within_tolerance"] else "MISS"))
print("machine:", sc["machine"].get("limited_by", "not limiting"))
# The recorder stops after the process: the main thread's last hold is open.
assert main["open_hold_trimmed_ns"] > 0, "the open hold at the end was not trimmed"
assert th["cpu0"]["cuts"] > 0 and th["cpu0"]["return_p50_ns"] > 0, th["cpu0"]
# The runtime's own cost inside each hold is taken off (1.6-1.8x before).
hold = next(r for r in sc["vs_original"]
            if r["scope"] == "overall" and r["figure"] == "hold_p50_us")
assert hold["within_tolerance"], hold
# The whole self-check is shown, not asserted: on a loaded machine the loss
# per I/O call still misses on some recordings (docs/replay.md, measured).
print("self-check:", "passed" if sc["passed"] else "missed (exit %d)" % rc)
PY
echo "replay of a CPython 3.11 echo convoy: ok"
