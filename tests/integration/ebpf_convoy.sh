#!/bin/bash
# The I/O convoy on unmodified CPython 3.11 (bpo-7946), seen by gilscope
# record: an echo server thread beside a CPU-bound thread, the client in
# another process (thinking 1 ms before each request, like a remote peer).
# Every recv/send releases the GIL; taking it back after recv finds the CPU
# thread holding it and waits until the waiter forces a switch: about one
# 5 ms interval. Alone (no CPU thread) the server re-acquires at once.
# Checked on the I/O thread (the non-main thread with the most blocking
# releases) with gstrace.py, and through `gilscope report --json`'s convoy
# finding.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
require_btf
py=$(find_python 3.11)

for ncpu in 0 1; do
  "$GILSCOPE" record -o "$WORK/convoy-$ncpu.gst" -- "$py" "$PYDIR/convoy.py" 200 "$ncpu" \
    > "$WORK/convoy-$ncpu.out" 2> "$WORK/convoy-$ncpu.err" \
    || { cat "$WORK/convoy-$ncpu.err" >&2; fail "record convoy.py ($ncpu CPU threads) failed"; }
  python3 "$PYDIR/gstrace.py" "$WORK/convoy-$ncpu.gst" > "$WORK/convoy-$ncpu.json"
done
python3 - "$WORK" <<'PY' || fail "no convoy"
import json, sys
w = sys.argv[1]
def io_thread(n):
    d = json.load(open("%s/convoy-%d.json" % (w, n)))
    pid = d["header"]["pid"]
    io = [v for t, v in d["per_thread"].items() if int(t) != pid]
    return max(io, key=lambda v: v["blocking_releases"])
solo, busy = io_thread(0), io_thread(1)
out = [open("%s/convoy-%d.out" % (w, n)).read().strip() for n in (0, 1)]
print("I/O thread alone: %d re-acquires, p90 %.1f us (%s)"
      % (solo["after_blocking_waits"], solo["after_blocking_wait_p90_us"], out[0]))
print("beside a CPU thread: %d re-acquires, %d waited >= 1 ms, their median %.2f ms (%s)"
      % (busy["after_blocking_waits"], busy["after_blocking_long_waits"],
         (busy["after_blocking_long_wait_p50_us"] or 0) / 1e3, out[1]))
if solo["after_blocking_waits"] < 300 or busy["after_blocking_waits"] < 300:
    sys.exit("too few I/O re-acquisitions")
if solo["after_blocking_wait_p90_us"] >= 1000:
    sys.exit("alone, the I/O thread's re-acquire p90 is %.0f us" % solo["after_blocking_wait_p90_us"])
if busy["after_blocking_long_waits"] < 0.25 * busy["after_blocking_waits"]:
    sys.exit("beside a CPU thread only %d of %d re-acquires waited >= 1 ms"
             % (busy["after_blocking_long_waits"], busy["after_blocking_waits"]))
m = busy["after_blocking_long_wait_p50_us"] / 1e3
if not 2.5 <= m <= 15:
    sys.exit("the waiting re-acquires' median %.2f ms is not near the 5 ms interval" % m)
PY
"$GILSCOPE" report --json -q "$WORK/convoy-1.gst" > "$WORK/convoy-1.report" || fail "report failed"
python3 - "$WORK/convoy-1.report" <<'PY' || fail "report shows no convoy"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["kind"] == "convoy"]
if not f:
    sys.exit("findings: %r" % [x["kind"] for x in d["findings"]])
print("report: " + f[0]["text"])
PY
echo PASS
