#!/bin/bash
# gilscope top -a: one line per process, sorted by the time lost waiting
# for the GIL. A two-thread countdown (CPython 3.12, CPU-bound: about one
# thread waiting at any time) and a CPython 3.11 that mostly sleeps (no
# waiting), both started before top; top -a -p keeps to them (the probes
# still sit once per file, the filter runs in the kernel). A third one runs
# in another mount namespace, from a copy of CPython 3.10's interpreter and
# libpython in a tmpfs that only that namespace sees (a container stand-in):
# it is found and traced too.
. "$(dirname "$0")/lib.sh"
require_root
require_btf
py312=$(find_python 3.12)
py311=$(find_python 3.11)
"$py312" "$GILSCOPE_SRC/tests/integration/python/countdown.py" 400000000 2 & busy=$!
"$py311" -c '
import threading, time
def tick():
    for _ in range(1500):  # 15 s at least; killed at the end
        time.sleep(0.01)
t = threading.Thread(target=tick); t.start(); tick(); t.join()' & calm=$!
py310=$(find_python 3.10)
pyroot=$(dirname "$(dirname "$py310")")
NS="$WORK/ns"
mkdir -p "$NS"
unshare -m --propagation private sh -c '
  mount -t tmpfs none "$0" && mkdir "$0/bin" "$0/lib" &&
  cp "$1/bin/python3.10" "$0/bin/" && cp "$1/lib/libpython3.10.so.1.0" "$0/lib/" &&
  ln -s "$1/lib/python3.10" "$0/lib/python3.10" &&
  LD_LIBRARY_PATH="$0/lib" exec "$0/bin/python3.10" "$2" 400000000 2' \
  "$NS" "$pyroot" "$GILSCOPE_SRC/tests/integration/python/countdown.py" & inns=$!
trap 'kill $busy $calm $inns 2>/dev/null || true; wait $busy $calm $inns 2>/dev/null || true; rm -rf "$WORK"' EXIT
# The namespaced one copies its interpreter first (seconds on a loaded
# machine): top starts once all three run Python, not after a fixed time.
for _ in $(seq 1200); do
  [ "$(cat /proc/$inns/comm 2>/dev/null)" = python3.10 ] && break
  kill -0 $inns 2>/dev/null || fail "the namespaced CPython 3.10 did not start"
  sleep 0.1
done
[ "$(cat /proc/$inns/comm 2>/dev/null)" = python3.10 ] || fail "the namespaced CPython 3.10 did not start in 120 s"
# ... and their threads run (interpreter start-up takes seconds too): the
# countdowns' two workers beside the main thread, the sleeper's one.
threads() { ls /proc/$1/task 2>/dev/null | wc -l; }
for _ in $(seq 1200); do
  [ "$(threads $busy)" -ge 3 ] && [ "$(threads $inns)" -ge 3 ] && [ "$(threads $calm)" -ge 2 ] && break
  sleep 0.1
done
[ -z "$(ls "$NS")" ] || fail "the namespace's tmpfs is visible outside it"
"$GILSCOPE" top -a -p "$busy,$calm,$inns" --json -i 1 -d 3.2 > "$WORK/top.json" 2> "$WORK/top.err" \
  || { cat "$WORK/top.err" >&2; fail "top -a failed"; }
"$GILSCOPE" top -a -p "$busy,$calm" -i 1 -d 1.2 > "$WORK/top.txt" 2>&1 || fail "top -a (text) failed"
cat "$WORK/top.txt"
python3 - "$WORK/top.json" "$busy" "$calm" "$inns" <<'PY' || fail "top -a shows the wrong picture"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
busy, calm, inns = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
last = rows[-2] if len(rows) > 2 else rows[-1]  # the final row may cover a short interval
procs = {p["pid"]: p for p in last["processes"]}
print("busy:", procs.get(busy)); print("calm:", procs.get(calm)); print("in a mount namespace:", procs.get(inns))
if set(procs) != {busy, calm, inns}:
    sys.exit("want exactly pids %d, %d and %d, got %s" % (busy, calm, inns, sorted(procs)))
if last["processes"][-1]["pid"] != calm:
    sys.exit("the sleeper (no GIL waits) is not last")
n = procs[inns]
if n["python"] != "3.10" or n["acquisitions_total"] < 5 or n["gil_load"] < 0.3:
    sys.exit("process in another mount namespace: %r" % n)
b, c = procs[busy], procs[calm]
if not 0.5 <= b["gil_load"] <= 1.2:
    sys.exit("countdown GIL load %.2f, want about 1" % b["gil_load"])
if b["wait_threads"] < 0.3:
    sys.exit("countdown: %.2f threads waiting on average, want about 1" % b["wait_threads"])
if b["python"] != "3.12" or c["python"] != "3.11":
    sys.exit("python versions %s, %s" % (b["python"], c["python"]))
# The sleeper's threads wait only while the other holds the GIL for a few
# us of Python after its sleep, or was preempted holding it (a loaded
# machine): never most of the time, as the countdown's pair does (about 1).
# Its rate of acquisitions follows how fast a loaded machine wakes it: only
# "some" is asserted.
if c["wait_threads"] > 0.5 or c["acquisitions_total"] < 1:
    sys.exit("sleeper: wait %.3f, %d acquisitions" % (c["wait_threads"], c["acquisitions_total"]))
PY
grep -q "^ *$busy python  *3.12 " "$WORK/top.txt" || fail "text view has no line for $busy"
echo PASS
