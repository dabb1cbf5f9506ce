#!/bin/bash
# gilscope record -p PID on a stripped CPython running in a private mount
# namespace, from a path that does not exist in ours (a bind mount made only
# inside it), as in a container. gilscope must open the program and its
# libraries through /proc/PID/root (or /proc/PID/map_files), find the debug
# file beside the library inside the namespace, and trace it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/python_copy.bash"
require_root
require_cmd python3 unshare mount
[ -e /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
PYDIR="$GILSCOPE_SRC/tests/integration/python"
PY=$(find_python 3.11)

python_copy "$PY" "$WORK/src" link
INNER="$WORK/container/py"   # exists only inside the namespace
mkdir -p "$WORK/container"
cat > "$WORK/inner.sh" <<SH
set -e
mkdir -p "$INNER" 2>/dev/null || mount -t tmpfs none "$WORK/container"
mkdir -p "$INNER"
mount --bind "$WORK/src" "$INNER"
exec "$INNER/bin/python3.11" "$PYDIR/countdown.py" 400000000 2
SH
# the directory is made inside the namespace: a tmpfs over the parent keeps it
# out of ours
cat > "$WORK/start.sh" <<SH
mount -t tmpfs none "$WORK/container"
exec bash "$WORK/inner.sh"
SH
unshare -m --propagation private bash "$WORK/start.sh" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for i in $(seq 1 100); do
  grep -q libpython3.11 "/proc/$PID/maps" 2>/dev/null && break
  sleep 0.1
done
[ -e "$INNER/bin/python3.11" ] && fail "$INNER exists outside the namespace: the test proves nothing"
"$GILSCOPE" record -v -p "$PID" -d 1.5 -o "$WORK/ns.gst" 2> "$WORK/ns.err" \
  || { cat "$WORK/ns.err" >&2; fail "record -p on the namespaced CPython failed"; }
grep -q "GIL in $INNER/lib/libpython3.11.so.1.0 (opened as /proc/$PID/" "$WORK/ns.err" \
  || { cat "$WORK/ns.err" >&2; fail "-v does not say the library was opened through /proc/$PID"; }
kill $PID; wait $PID 2>/dev/null || true
python3 "$PYDIR/gstrace.py" "$WORK/ns.gst" > "$WORK/ns.json"
python3 - "$WORK/ns.json" "$INNER" "$(symtab_addr "$PYCOPY_ORIG_LIB" take_gil)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); inner = sys.argv[2]; take = int(sys.argv[3])
probes, c = d["header"]["probes"], d["counts"]
def check(cond, what):
    if not cond:
        sys.exit("FAIL: %s\n%s" % (what, json.dumps(d, indent=1)))
check(any(p["what"] == "take_gil" and p["vaddr"] == take for p in probes),
      "take_gil not at the .symtab address 0x%x" % take)
check(all(p["object"].endswith("/py/lib/libpython3.11.so.1.0") for p in probes),
      "probes name the library by another path than the process's")
check(all(p["method"] in ("debug file", "symbol-free") for p in probes
          if p["what"] in ("take_gil", "drop_gil")), "placement method")
# attached mid-run and stopped by -d: the probes go in and out one by one
# (each detach waits for the kernel), so the ends of the trace need not
# balance; the namespace part is that events come at all
check(c.get("acquired", 0) > 20 and c.get("release", 0) > 20,
      "acquisitions/releases %s" % c)
print("namespace: %d acquisitions, %d releases; take_gil 0x%x via %s"
      % (c["acquired"], c["release"], take, probes[0]["method"]))
PY
