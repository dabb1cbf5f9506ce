#!/usr/bin/env bash
# Python stacks on CPython 2.7 (record --stacks): the walker finds each
# thread's state in interp_head's list (pthread_self == thread_id), walks
# PyFrameObjects, reads PyStringObject names and 2.7's unsigned co_lnotab.
# Like stacks_versions.sh for 3.x: the program says where its spinning
# threads are (its own frames); the heaviest hold stack ending in that
# function must name the same function, file and line. Also: a stripped
# 2.7 (no interp_head) is refused with a message, not walked blind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/python_copy.bash"
require_root
PY27=$(find_python 2.7)

cat >"$WORK/where27.py" <<'PY'
import json, sys, threading, time
where = {}
def spin(end):
    me = sys._getframe()
    where.update(function=me.f_code.co_name, file=me.f_code.co_filename,
                 line=me.f_lineno + 2)
    x = 0
    while time.time() < end: x += 1
    return x
end = time.time() + 1.0
threads = [threading.Thread(target=spin, args=(end,)) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(where))
PY

"$GILSCOPE" record --stacks -o "$WORK/w.gst" -- "$PY27" "$WORK/where27.py" >"$WORK/w.out" 2>"$WORK/w.err" ||
	{ cat "$WORK/w.err"; fail "record --stacks on 2.7"; }
grep -q ' [1-9][0-9]* Python stacks' "$WORK/w.err" || { cat "$WORK/w.err"; fail "2.7: no Python stacks"; }
"$GILSCOPE" report --folded hold "$WORK/w.gst" >"$WORK/w.folded" || fail "report --folded hold"
python3 - "$WORK/w.out" "$WORK/w.folded" <<'PY' || fail "2.7 frames do not match the program"
import json, sys
where = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
want = "%s (%s:%d)" % (where["function"], where["file"], where["line"])
spin = {}
for l in open(sys.argv[2]):
    stack, value = l.rstrip("\n").rsplit(" ", 1)
    inner = stack.split(";")[-1]
    if inner.startswith(where["function"] + " ("):
        spin[inner] = spin.get(inner, 0) + int(value)
if not spin:
    sys.exit("no stack ends in %s (the program is in %s)" % (where["function"], want))
top = max(spin, key=spin.get)
if top != want:
    sys.exit("heaviest %r, the program says %r" % (top, want))
print("2.7: %s" % top)
PY

# A stripped copy: interp_head is gone with .symtab; --stacks says so.
python_copy "$PY27" "$WORK/s" none
expect_exit 1 'interp_head' "$GILSCOPE" record --stacks -o "$WORK/s.gst" -- "$WORK/s/bin/python2.7" "$WORK/where27.py"
echo "PASS: CPython 2.7 Python stacks match the program's own frames"
