#!/usr/bin/env bash
# Python stacks on CPython 2.7 (record --stacks): the walker finds each
# thread's state in interp_head's list (pthread_self == thread_id), walks
# PyFrameObjects, reads PyStringObject names and 2.7's unsigned co_lnotab.
# Like stacks_versions.sh for 3.x: python/stacks_where.py says where its spinning
# threads are (its own frames); the heaviest hold stack ending in that
# function must name the same function, file and line. Also: a stripped
# 2.7 (no interp_head) is refused with a message, not walked blind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/python_copy.bash"
require_root
PY27=$(find_python 2.7)

APP="$GILSCOPE_SRC/tests/integration/python/stacks_where.py"

"$GILSCOPE" record --stacks -o "$WORK/w.gst" -- "$PY27" "$APP" 1 >"$WORK/w.out" 2>"$WORK/w.err" ||
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
expect_exit 1 'interp_head' "$GILSCOPE" record --stacks -o "$WORK/s.gst" -- "$WORK/s/bin/python2.7" "$APP" 1
echo "PASS: CPython 2.7 Python stacks match the program's own frames"
