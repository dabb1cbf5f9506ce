#!/bin/bash
# gilscope record -- CMD where CMD is not the interpreter: a pyenv shim (bash
# that execs pyenv, which execs the real python), `env python3`, and a shell
# script that forks python (no exec), `unshare -m ... exec python` (another
# mount namespace). record follows the command's execs to
# the CPython and traces that process. And a recorder killed with SIGKILL
# while it holds the found process at its exec leaves it running: the
# command finishes untraced.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/python_copy.bash"
require_root
require_cmd python3
require_btf
PY=$(find_python 3.11)
VERSION=$(basename "$(dirname "$(dirname "$PY")")")
SHIM="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")/shims/python3.11"
[ -x "$SHIM" ] || skip "no pyenv shim $SHIM (pyenv rehash)"
head -1 "$SHIM" | grep -q bash || fail "$SHIM is not a shell script: the test proves nothing"

# check TRACE NAME: a trace of the CPython, not of a shell
check() {
  python3 "$PYDIR/gstrace.py" "$1" > "$1.json"
  PYTHONPATH="$PYDIR" python3 - "$1.json" "$2" <<'PY'
import json, sys
import gstrace
d = json.load(open(sys.argv[1])); name = sys.argv[2]
h, c = d["header"], d["counts"]
check = gstrace.checker(name, d)
check(h["policy"] == "cpython-3.11", "policy %r" % h["policy"])
check(c.get("acquired", 0) > 100 and abs(c.get("release", 0) - c["acquired"]) <= 3,
      "acquisitions/releases %s" % c)
check(any(p["what"] == "take_gil" for p in h["probes"]), "no take_gil probe")
print("%s: %d acquisitions in PID %d" % (name, c["acquired"], h["pid"]))
PY
}

PYENV_VERSION=$VERSION "$GILSCOPE" record -v -o "$WORK/shim.gst" -- "$SHIM" \
  "$PYDIR/countdown.py" 4000000 2 2> "$WORK/shim.err" \
  || { cat "$WORK/shim.err" >&2; fail "record -- pyenv shim failed"; }
grep -q "exec'd .*bash: no GIL, following" "$WORK/shim.err" \
  || { cat "$WORK/shim.err" >&2; fail "-v does not show the shim's bash being followed"; }
grep -q "exec'd $(readlink -f "$PY"): a GIL program" "$WORK/shim.err" \
  || { cat "$WORK/shim.err" >&2; fail "-v does not show the real interpreter found"; }
check "$WORK/shim.gst" shim

PATH="$(dirname "$PY"):$PATH" "$GILSCOPE" record -o "$WORK/env.gst" -- \
  env python3.11 "$PYDIR/countdown.py" 4000000 2 2> "$WORK/env.err" \
  || { cat "$WORK/env.err" >&2; fail "record -- env python3.11 failed"; }
check "$WORK/env.gst" env

# a wrapper that forks: python is its child, not the wrapper itself
printf '#!/bin/sh\n"%s" "$@"\necho wrapper-done > "%s"\n' "$PY" "$WORK/wrapper.done" \
  > "$WORK/wrapper.sh"
chmod +x "$WORK/wrapper.sh"
"$GILSCOPE" record -o "$WORK/wrap.gst" -- "$WORK/wrapper.sh" \
  "$PYDIR/countdown.py" 4000000 2 2> "$WORK/wrap.err" \
  || { cat "$WORK/wrap.err" >&2; fail "record -- wrapper script failed"; }
[ -e "$WORK/wrapper.done" ] || fail "the wrapper did not run to its end"
check "$WORK/wrap.gst" wrapper

# no GIL anywhere: a clear error naming what ran
if "$GILSCOPE" record -o "$WORK/none.gst" -- sh -c 'true' 2> "$WORK/none.err"; then
  fail "record of a command without a GIL succeeded"
fi
grep -q "no GIL found: the command exited without exec'ing a CPython" "$WORK/none.err" \
  || { cat "$WORK/none.err" >&2; fail "unclear error for a command without a GIL"; }

# into another mount namespace: `unshare -m ... exec python` from a path that
# exists only there; its libraries are listed inside its root (chroot)
python_copy "$PY" "$WORK/copy" link
mkdir -p "$WORK/ns"
"$GILSCOPE" record -v -o "$WORK/ns.gst" -- unshare -m --propagation private sh -c \
  "mount -t tmpfs none '$WORK/ns' && mkdir '$WORK/ns/py' && \
   mount --bind '$WORK/copy' '$WORK/ns/py' && \
   exec '$WORK/ns/py/bin/python3.11' '$PYDIR/countdown.py' 4000000 2" 2> "$WORK/ns.err" \
  || { cat "$WORK/ns.err" >&2; fail "record -- unshare ... exec python failed"; }
grep -q "GIL in $WORK/ns/py/lib/libpython3.11.so.1.0 (opened as /proc/[0-9]*/root$WORK/ns/py/lib/" \
  "$WORK/ns.err" || { cat "$WORK/ns.err" >&2; fail "namespace: -v does not show the library opened through the process's root"; }
check "$WORK/ns.gst" namespace

# the recorder killed while the interpreter waits at its exec: it runs on
rm -f "$WORK/wrapper.done"
"$GILSCOPE" record -v -o "$WORK/kill.gst" -- "$WORK/wrapper.sh" -c \
  "open('$WORK/python.done', 'w').write('ok')" 2> "$WORK/kill.err" &
rec=$!
for i in $(seq 1 200); do
  grep -q "a GIL program, tracing it" "$WORK/kill.err" 2>/dev/null && break
  sleep 0.05
done
kill -9 "$rec"; wait "$rec" 2>/dev/null || true
for i in $(seq 1 100); do
  [ -e "$WORK/wrapper.done" ] && break   # the wrapper ends after python
  sleep 0.1
done
[ -e "$WORK/python.done" ] || { cat "$WORK/kill.err" >&2; fail "the interpreter never ran after its recorder was killed"; }
echo "killed recorder: the command ran on"
