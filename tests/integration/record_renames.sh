#!/usr/bin/env bash
# gilscope record follows thread renames: two threads name themselves
# (prctl PR_SET_NAME) once they run, then again; the report shows the last
# name, and the trace keeps the history (one THREAD block per name; the
# reader keeps the last), also when the second name comes before the
# recorder has written any of the thread's records (the early name was
# lost then: 5 of 5 runs with this workload before demux.c declared a
# thread at its first rename). The names come from tp_btf/task_rename as they
# change, and from /proc when the tracer looks again.
. "$(dirname "$0")/lib.sh"
require_root
require_btf
PY=$(find_python 3.11)
cat > "$WORK/rename.py" <<'PYEOF'
import ctypes, threading
libc = ctypes.CDLL(None)
def work(i):
    libc.prctl(15, b"early-%d" % i, 0, 0, 0)
    x = 0
    for k in range(3000): x += k   # renamed again well within the recorder's hold-back
    libc.prctl(15, b"final-%d" % i, 0, 0, 0)
    for k in range(300000): x += k
ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
PYEOF
"$GILSCOPE" record -o "$WORK/rn.gst" -- "$PY" "$WORK/rename.py" 2> "$WORK/rec.err" ||
  { cat "$WORK/rec.err" >&2; fail "record failed"; }
"$GILSCOPE" report --json -q "$WORK/rn.gst" > "$WORK/rn.json" || fail "report failed"
python3 - "$WORK/rn.json" "$WORK/rn.gst" "$GILSCOPE_SRC/tests/integration/python" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3])
import gstrace
names = sorted(t["name"] for t in json.load(open(sys.argv[1]))["threads"])
if "final-0" not in names or "final-1" not in names:
    sys.exit("FAIL: report names %r (expected final-0 and final-1)" % names)
data = open(sys.argv[2], "rb").read()
if b"early-0" not in data or b"early-1" not in data:
    sys.exit("FAIL: the trace lost the first names (no THREAD block with early-N)")
print("names:", names)
PY
