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
require_btf
PY=$(find_python 3.11)
PID=
trap 'if [ -n "$PID" ]; then kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

# wait_mapped: until $PID has mapped its libpython
wait_mapped() {
  for i in $(seq 1 100); do
    grep -q libpython3.11 "/proc/$PID/maps" 2>/dev/null && break
    sleep 0.1
  done
}

# record_pid NAME OPENED: record -v -p $PID for a while; -v must show the
# library opened as OPENED (a grep pattern); then $PID is stopped and the
# trace summarised in $WORK/NAME.json
record_pid() {
  local name=$1 opened=$2
  "$GILSCOPE" record -v -p "$PID" -d 1.5 -o "$WORK/$name.gst" 2> "$WORK/$name.err" \
    || { cat "$WORK/$name.err" >&2; fail "$name: record -p failed"; }
  grep -q "$opened" "$WORK/$name.err" \
    || { cat "$WORK/$name.err" >&2; fail "$name: -v does not show the library opened as $opened"; }
  kill $PID; wait $PID 2>/dev/null || true
  PID=
  python3 "$PYDIR/gstrace.py" "$WORK/$name.gst" > "$WORK/$name.json"
}

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
  wait_mapped
  [ -e "$inner/bin/python3.11" ] && fail "$inner exists outside the namespace: the test proves nothing"
  record_pid "$name" "GIL in $inner/lib/libpython3.11.so.1.0 (opened as /proc/$PID/"
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
wait_mapped
rm "$PYCOPY_LIB"
record_pid deleted "(deleted) (opened as /proc/$PID/map_files/"
n=$(json_get "$WORK/deleted.json" 'd["counts"].get("acquired", 0)')
[ "$n" -gt 20 ] || fail "deleted: only $n acquisitions"
echo "deleted library: $n acquisitions through map_files"
