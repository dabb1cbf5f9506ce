#!/bin/bash
# `gilscope record` and `gilscope top` price the probes' hits the same way
# (tools/bpf/cost_meter.h): per-hit costs calibrated while the session runs
# plus the BPF programs' run time from the kernel's statistics, not the
# constants of session.h. On one CPython 3.11 workload (two CPU-bound
# threads, the light probe set: take_gil and its return, drop_gil,
# PyEval_SaveThread emulated; PyThreadState_DeleteCurrent single-stepped):
#  - record's estimate line names the calibrated parts;
#  - every interval of top --json names its per-hit costs and whether they
#    were measured, and its cost is made of exactly those figures: total =
#    traps + BPF programs' run time (+ stack walks, only at the constants),
#    and where no hit was single-stepped, traps = trap x (hits - returns) +
#    return x returns + refill x traps (a return probe shares its entry's
#    trap and adds its own extra; the program's cache refill follows every
#    kernel entry, calibrate.h). At least one such interval must be calibrated: the
#    calibration keeps a sample only when both its differences come out
#    positive, so an interval may, rarely, still have none and fall back
#    to the constants (then with no BPF time and the constants reported).
# Structure only: no figure is compared with a time.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
require_btf
py=$(find_python 3.11)

"$GILSCOPE" record -o "$WORK/cd.gst" -- "$py" "$PYDIR/countdown.py" 20000000 2 \
  2> "$WORK/rec.err" || { cat "$WORK/rec.err" >&2; fail "record failed"; }
grep -E "estimated probe cost [0-9.]+ ms = [0-9.]+% slowdown .*\(traps [0-9]+ ns each \+ [0-9]+ ns of cache refill after each, a return [0-9]+ ns more, measured now in [1-9][0-9]* samples, \+ [0-9.]+ ms in the BPF programs[;)]" \
  "$WORK/rec.err" > /dev/null \
  || { cat "$WORK/rec.err" >&2; fail "record: no calibrated per-hit costs in its estimate"; }

"$GILSCOPE" top --json --no-hist -i 0.5 -- "$py" "$PYDIR/countdown.py" 40000000 2 \
  > "$WORK/top.json" 2> "$WORK/top.err" || { cat "$WORK/top.err" >&2; fail "top failed"; }
python3 - "$WORK/top.json" "$WORK/rec.err" <<'PY'
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) >= 2, "expected several intervals, got %d" % len(lines)
exact = 0
for l in lines:
    c = l["probe_cost"]
    assert c["trap_ns"] > 0 and c["return_ns"] > 0 and c["refill_ns"] >= 0, c
    # every hit here is a uprobe's (no USDT, no 2.7 tail probe)
    assert c["traps"] == c["hits"], c
    assert c["stacks_ns"] == 0, c
    total = c["traps_ns"] + c["bpf_ns"] + c["stacks_ns"]
    assert abs(c["total_ns"] - total) <= 1e-9 * max(total, 1), c
    # probe_cost_pct is that total over the interval
    pct = 100.0 * c["total_ns"] / (l["interval_s"] * 1e9)
    assert abs(l["probe_cost_pct"] - pct) <= 1e-6 * max(pct, 1e-3), (l["probe_cost_pct"], pct)
    if c["calibrated"]:
        assert c["samples"] >= 1, c
        # the programs ran at every hit: the statistics saw them
        assert c["bpf_ns"] > 0 or not c["hits"], c
    else:
        assert c["bpf_ns"] == 0 and c["samples"] == 0 and c["refill_ns"] == 0, c
    if c["hits"] and not c["single_stepped_hits"]:
        want = (c["trap_ns"] * (c["hits"] - c["return_hits"]) + c["return_ns"] * c["return_hits"]
                + c["refill_ns"] * c["traps"])
        assert abs(c["traps_ns"] - want) <= 1e-6 * want, (c, want)
        exact += c["calibrated"]
assert exact >= 1, "no calibrated interval with hits and no single-stepped hit: %r" % lines
# the first interval's hits are the countdown's: take_gil has its return probed
assert any(l["probe_cost"]["return_hits"] > 0 for l in lines), lines
m = re.search(r"traps (\d+) ns each \+ \d+ ns of cache refill after each, a return (\d+) ns more, measured now in (\d+) samples",
              open(sys.argv[2]).read())
print("top: %d intervals (%d priced exactly), trap %.0f ns, return %.0f ns; "
      "record: trap %s ns, return %s ns, %s samples"
      % (len(lines), exact, lines[0]["probe_cost"]["trap_ns"],
         lines[0]["probe_cost"]["return_ns"], m.group(1), m.group(2), m.group(3)))
PY
echo "PASS"
