#!/usr/bin/env bash
# Frame walking (record --stacks) on every pyenv CPython 3.x, on Debian's
# stripped, LTO-built /usr/bin/python3.11 (symbol-free probes: the thread
# state comes from _PyRuntime at PyEval_SaveThread) and on a stripped copy
# of pyenv's 3.11 (strip --strip-all, RUNPATH $ORIGIN/../lib, as container
# images ship it). python/stacks_where.py says where its spinning threads
# are (function, file, line, from its own frames); the trace's stacks at
# release must name the same innermost frame, line included.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
require_btf
APP="$GILSCOPE_SRC/tests/integration/python/stacks_where.py"
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")

check() {
  local label=$1 py=$2 trace="$WORK/$1.gst"
  "$GILSCOPE" record --stacks -o "$trace" -- "$py" "$APP" 1 \
    > "$WORK/$label.out" 2> "$WORK/$label.err" ||
    { cat "$WORK/$label.err" >&2; fail "$label: record --stacks failed"; }
  "$GILSCOPE" report --folded hold "$trace" > "$WORK/$label.folded" 2> "$WORK/$label.rerr" ||
    { cat "$WORK/$label.rerr" >&2; fail "$label: report --folded hold failed"; }
  python3 - "$label" "$WORK/$label.out" "$WORK/$label.folded" <<'PY' || exit 1
import json, sys
label = sys.argv[1]
where = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
want = "%s (%s:%d)" % (where["function"], where["file"], where["line"])
total, spin = 0, {}
for l in open(sys.argv[3]):
    stack, value = l.rstrip("\n").rsplit(" ", 1)
    inner = stack.split(";")[-1]
    total += int(value)
    if inner.startswith(where["function"] + " ("):
        spin[inner] = spin.get(inner, 0) + int(value)
if not spin:
    sys.exit("FAIL %s: no stack ends in %s (the program is in %s)" % (label, where["function"], want))
top = max(spin, key=spin.get)
if top != want:
    sys.exit("FAIL %s: heaviest %s frame %r (%.0f%% of %.0f ms of hold), the program says %r"
             % (label, where["function"], top, 100.0 * sum(spin.values()) / total,
                total / 1e6, want))
print("%s: %s, %.0f%% of the hold time" % (label, top, 100.0 * sum(spin.values()) / total))
PY
}

n=0
for v in $(ls -1 "$root/versions" 2>/dev/null | sort -V); do
  case "$v" in 3.*) ;; *) continue ;; esac
  py="$root/versions/$v/bin/python"
  [ -x "$py" ] || continue
  check "$v" "$py"
  n=$((n + 1))
done
[ "$n" -ge 1 ] || skip "no pyenv CPython 3.x in $root/versions"

if [ -x /usr/bin/python3.11 ]; then
  check debian-3.11 /usr/bin/python3.11
elif [ "${CI:-}" = "true" ]; then
  fail "no /usr/bin/python3.11 (Debian's python3.11 package)"
fi

# A container-style stripped copy of pyenv's 3.11 (docs/environment notes).
py311=$(find_python 3.11)
base=$(dirname "$(dirname "$py311")")
require_cmd strip patchelf
S="$WORK/stripped"
mkdir -p "$S/bin" "$S/lib"
cp "$base/bin/python3.11" "$S/bin/python3.11"
cp "$base/lib/libpython3.11.so.1.0" "$S/lib/"
ln -s "$base/lib/python3.11" "$S/lib/python3.11"
strip --strip-all "$S/bin/python3.11" "$S/lib/libpython3.11.so.1.0"
patchelf --set-rpath '$ORIGIN/../lib' "$S/bin/python3.11"
! readelf -S "$S/lib/libpython3.11.so.1.0" | grep '\.symtab' > /dev/null || fail "strip left a .symtab"
check stripped-3.11 "$S/bin/python3.11"
