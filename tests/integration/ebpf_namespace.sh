#!/bin/bash
# gilscope record -p PID on a stripped CPython running in a private mount
# namespace, from a path that does not exist in ours (a bind mount made only
# inside it), as in a container. gilscope must open the program and its
# libraries through /proc/PID/root (or /proc/PID/map_files) and trace it:
#  - with its debug file beside the library (found inside the namespace):
#    probes at the unstripped .symtab addresses, method "debug file";
#  - with no debug file at all: the symbol-free method;
# and a library deleted from disk since it was mapped, through map_files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/python_copy.bash"
require_root
require_cmd python3 unshare mount
[ -e /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
PYDIR="$GILSCOPE_SRC/tests/integration/python"
PY=$(find_python 3.11)
PID=
trap 'if [ -n "$PID" ]; then kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

# in_namespace NAME DEBUG: records a countdown run by a copy (DEBUG as in
# python_copy) from a private mount namespace; checks with METHOD
in_namespace() {
  local name=$1 debug=$2 method=$3 inner="$WORK/$1-container/py"
  python_copy "$PY" "$WORK/$name" "$debug"
  mkdir -p "$WORK/$name-container"
  # a tmpfs over the parent, mounted inside the namespace only, keeps the
  # interpreter's directory out of ours
  cat > "$WORK/$name.sh" <<SH
set -e
mount -t tmpfs none "$WORK/$name-container"
mkdir "$inner"
mount --bind "$WORK/$name" "$inner"
exec "$inner/bin/python3.11" "$PYDIR/countdown.py" 400000000 2
SH
  unshare -m --propagation private bash "$WORK/$name.sh" &
  PID=$!
  for i in $(seq 1 100); do
    grep -q libpython3.11 "/proc/$PID/maps" 2>/dev/null && break
    sleep 0.1
  done
  [ -e "$inner/bin/python3.11" ] && fail "$inner exists outside the namespace: the test proves nothing"
  "$GILSCOPE" record -v -p "$PID" -d 1.5 -o "$WORK/$name.gst" 2> "$WORK/$name.err" \
    || { cat "$WORK/$name.err" >&2; fail "$name: record -p on the namespaced CPython failed"; }
  grep -q "GIL in $inner/lib/libpython3.11.so.1.0 (opened as /proc/$PID/" "$WORK/$name.err" \
    || { cat "$WORK/$name.err" >&2; fail "$name: -v does not say the library was opened through /proc/$PID"; }
  kill $PID; wait $PID 2>/dev/null || true
  PID=
  python3 "$PYDIR/gstrace.py" "$WORK/$name.gst" > "$WORK/$name.json"
  python3 - "$WORK/$name.json" "$name" "$method" "$(symtab_addr "$PYCOPY_ORIG_LIB" take_gil)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); name, method, take = sys.argv[2], sys.argv[3], int(sys.argv[4])
probes, c = d["header"]["probes"], d["counts"]
def check(cond, what):
    if not cond:
        sys.exit("FAIL %s: %s\n%s" % (name, what, json.dumps(d, indent=1)))
check(any(p["method"] == method for p in probes), "no probe placed by %s" % method)
if method == "debug file":
    check(any(p["what"] == "take_gil" and p["vaddr"] == take for p in probes),
          "take_gil not at the .symtab address 0x%x" % take)
check(all(p["object"].endswith("/py/lib/libpython3.11.so.1.0") for p in probes
          if "libpython" in p["object"]),
      "probes name the library by another path than the process's")
# attached mid-run and stopped by -d: the probes go in and out one by one
# (each detach waits for the kernel), so the ends of the trace need not
# balance; the namespace part is that events come at all
check(c.get("acquired", 0) > 20 and c.get("release", 0) > 20,
      "acquisitions/releases %s" % c)
print("%s: %d acquisitions, %d releases, placed by %s"
      % (name, c["acquired"], c["release"], method))
PY
}

in_namespace debugfile link "debug file"
in_namespace stripped none "symbol-free"

# a library deleted from disk since it was mapped (an upgrade under a
# running service): only /proc/PID/map_files still opens it
python_copy "$PY" "$WORK/deleted" none
"$WORK/deleted/bin/python3.11" "$PYDIR/countdown.py" 400000000 2 &
PID=$!
for i in $(seq 1 100); do
  grep -q libpython3.11 "/proc/$PID/maps" 2>/dev/null && break
  sleep 0.1
done
rm "$PYCOPY_LIB"
"$GILSCOPE" record -v -p "$PID" -d 1 -o "$WORK/deleted.gst" 2> "$WORK/deleted.err" \
  || { cat "$WORK/deleted.err" >&2; fail "deleted: record -p failed"; }
grep -q "(deleted) (opened as /proc/$PID/map_files/" "$WORK/deleted.err" \
  || { cat "$WORK/deleted.err" >&2; fail "deleted: -v does not say the library was opened through map_files"; }
kill $PID; wait $PID 2>/dev/null || true
PID=
python3 "$PYDIR/gstrace.py" "$WORK/deleted.gst" > "$WORK/deleted.json"
n=$(json_get "$WORK/deleted.json" 'd["counts"].get("acquired", 0)')
[ "$n" -gt 20 ] || fail "deleted: only $n acquisitions"
echo "deleted library: $n acquisitions through map_files"
