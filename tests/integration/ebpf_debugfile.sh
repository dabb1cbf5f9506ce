#!/bin/bash
# gilscope record on a stripped CPython (no .symtab, like Debian's and the
# container images' builds) whose symbols are in a detached debug file:
# found through .gnu_debuglink next to the library, and through debuginfod
# (a local server in a private network namespace: loopback only). The trace's
# PROBES block must say "debug file" / "debuginfod" and give the addresses of
# the unstripped library's own .symtab (read with readelf), and the trace must
# be a sound one (balanced acquisitions and releases).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/python_copy.bash"
require_root
require_cmd python3 readelf
require_btf
PY=$(find_python 3.11)

# check_trace TRACE METHOD ORIGLIB: PROBES says METHOD for take_gil/drop_gil
# at ORIGLIB's .symtab addresses, and the events balance.
check_trace() {
  python3 "$PYDIR/gstrace.py" "$1" > "$1.json"
  python3 - "$1.json" "$2" "$(symtab_addr "$3" take_gil)" "$(symtab_addr "$3" drop_gil)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); method = sys.argv[2]
want = {"take_gil": int(sys.argv[3]), "drop_gil": int(sys.argv[4])}
probes = d["header"]["probes"]
def check(cond, what):
    if not cond:
        sys.exit("FAIL %s: %s\n%s" % (method, what, json.dumps(probes, indent=1)))
for name, addr in want.items():
    sites = [p for p in probes if p["what"] == name]
    check(sites, "no %s in the PROBES block" % name)
    check(all(p["method"] == method for p in sites), "%s not placed by %s" % (name, method))
    check(all(p["vaddr"] == addr for p in sites),
          "%s at %s, .symtab says 0x%x" % (name, [hex(p["vaddr"]) for p in sites], addr))
c = d["counts"]
check(c.get("acquired", 0) > 100, "only %d acquisitions" % c.get("acquired", 0))
check(abs(c.get("release", 0) - c.get("acquired", 0)) <= 3, "unbalanced %s" % c)
check(d["end"]["total_lost"] == 0, "lost events")
print("%s: take_gil 0x%x, drop_gil 0x%x as in .symtab; %d acquisitions, %d releases"
      % (method, want["take_gil"], want["drop_gil"], c["acquired"], c["release"]))
PY
}

# 1. .gnu_debuglink: the debug file next to the stripped library
python_copy "$PY" "$WORK/link" link
"$GILSCOPE" record -v -o "$WORK/link.gst" -- "$WORK/link/bin/python3.11" \
  "$PYDIR/countdown.py" 4000000 2 2> "$WORK/link.err" \
  || { cat "$WORK/link.err" >&2; fail "record on the debuglink copy failed"; }
grep -q "symbols from $PYCOPY_LIB.debug, debug file" "$WORK/link.err" \
  || { cat "$WORK/link.err" >&2; fail "-v does not say the symbols came from the debug file"; }
check_trace "$WORK/link.gst" "debug file" "$PYCOPY_ORIG_LIB"
"$GILSCOPE" report "$WORK/link.gst" > "$WORK/link.report"
grep -q "take_gil entry, debug file, in $PYCOPY_LIB" "$WORK/link.report" \
  || { cat "$WORK/link.report" >&2; fail "report does not show the placement"; }

# 2. the same copy without its debug file: a clear error naming where we looked
python_copy "$PY" "$WORK/bare" none
if "$GILSCOPE" record -o "$WORK/bare.gst" -- "$WORK/bare/bin/python3.11" -c pass \
     2> "$WORK/bare.err"; then
  # the symbol-free method (when there) may trace it: then it must say so
  # (to a file: grep -q on a pipe can kill the writer, and pipefail fails)
  python3 "$PYDIR/gstrace.py" "$WORK/bare.gst" > "$WORK/bare.json"
  grep -q '"symbol-free"' "$WORK/bare.json" \
    || fail "a stripped copy with no debug file was traced without saying how"
else
  grep -q "Looked in: /usr/lib/debug/.build-id/" "$WORK/bare.err" \
    || { cat "$WORK/bare.err" >&2; fail "the error does not say where debug files were looked for"; }
fi

# 3. debuginfod, serving a folder of debug files, in a network namespace
command -v debuginfod >/dev/null || skip "needs debuginfod (scripts/install-deps.sh)"
python_copy "$PY" "$WORK/dfod" "dir:$WORK/served"
cat > "$WORK/dfod.sh" <<SH
set -eu
ip link set lo up
debuginfod -F -p 18002 -d "$WORK/dfod.sqlite" -t 0 -g 0 "$WORK/served" \
  > "$WORK/debuginfod.log" 2>&1 &
server=\$!
trap 'kill \$server; wait \$server 2>/dev/null || true' EXIT
id=\$(readelf -n "$PYCOPY_LIB" | awk '/Build ID/ { print \$3 }')
# (up to 60 s: debuginfod indexes the folder first, slowly on a loaded
# machine; the record below needs it to answer)
for i in \$(seq 1 600); do
  curl -sf -o /dev/null "http://127.0.0.1:18002/buildid/\$id/debuginfo" && break
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:18002/buildid/\$id/debuginfo" ||
  { echo "debuginfod did not serve the debug file in 60 s" >&2; exit 1; }
export DEBUGINFOD_URLS=http://127.0.0.1:18002 DEBUGINFOD_CACHE_PATH="$WORK/cache"
"$GILSCOPE" record -v -o "$WORK/dfod.gst" -- "$WORK/dfod/bin/python3.11" \
  "$PYDIR/countdown.py" 4000000 2
SH
unshare -n bash "$WORK/dfod.sh" 2> "$WORK/dfod.err" \
  || { cat "$WORK/dfod.err" "$WORK/debuginfod.log" >&2; fail "record through debuginfod failed"; }
grep -q "debuginfod" "$WORK/dfod.err" \
  || { cat "$WORK/dfod.err" >&2; fail "-v does not name debuginfod"; }
check_trace "$WORK/dfod.gst" "debuginfod" "$PYCOPY_ORIG_LIB"
