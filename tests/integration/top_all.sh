#!/bin/bash
# gilscope top -a: one line per process, sorted by the time lost waiting
# for the GIL. A two-thread countdown (CPython 3.12, CPU-bound: about one
# thread waiting at any time) and a CPython 3.11 that mostly sleeps (no
# waiting), both started before top; top -a -p keeps to them (the probes
# still sit once per file, the filter runs in the kernel).
. "$(dirname "$0")/lib.sh"
require_root
[ -e /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
py312=$(find_python 3.12)
py311=$(find_python 3.11)
"$py312" "$GILSCOPE_SRC/tests/integration/python/countdown.py" 400000000 2 & busy=$!
"$py311" -c '
import threading, time
def tick():
    for _ in range(400):
        time.sleep(0.01)
t = threading.Thread(target=tick); t.start(); tick(); t.join()' & calm=$!
trap 'kill $busy $calm 2>/dev/null; wait $busy $calm 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 0.3
"$GILSCOPE" top -a -p "$busy,$calm" --json -i 1 -d 3.2 > "$WORK/top.json" 2> "$WORK/top.err" \
  || { cat "$WORK/top.err" >&2; fail "top -a failed"; }
"$GILSCOPE" top -a -p "$busy,$calm" -i 1 -d 1.2 > "$WORK/top.txt" 2>&1 || fail "top -a (text) failed"
cat "$WORK/top.txt"
python3 - "$WORK/top.json" "$busy" "$calm" <<'PY' || fail "top -a shows the wrong picture"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
busy, calm = int(sys.argv[2]), int(sys.argv[3])
last = rows[-2] if len(rows) > 2 else rows[-1]  # the final row may cover a short interval
procs = {p["pid"]: p for p in last["processes"]}
print("busy:", procs.get(busy)); print("calm:", procs.get(calm))
if set(procs) != {busy, calm}:
    sys.exit("want exactly pids %d and %d, got %s" % (busy, calm, sorted(procs)))
if last["processes"][0]["pid"] != busy:
    sys.exit("the countdown (waiting for the GIL) is not first")
b, c = procs[busy], procs[calm]
if not 0.5 <= b["gil_load"] <= 1.2:
    sys.exit("countdown GIL load %.2f, want about 1" % b["gil_load"])
if b["wait_threads"] < 0.3:
    sys.exit("countdown: %.2f threads waiting on average, want about 1" % b["wait_threads"])
if b["python"] != "3.12" or c["python"] != "3.11":
    sys.exit("python versions %s, %s" % (b["python"], c["python"]))
if c["wait_threads"] > 0.05 or c["acquisitions_total"] < 100:
    sys.exit("sleeper: wait %.3f, %d acquisitions" % (c["wait_threads"], c["acquisitions_total"]))
PY
grep -q "^ *$busy python  *3.12 " "$WORK/top.txt" || fail "text view has no line for $busy"
echo PASS
