#!/usr/bin/env bash
# The CTF reader's bounds (docs/reliability.md, "Bounded external decoders"):
#  - a trace whose metadata is cut short makes libbabeltrace2 spin for
#    ever; gilscope report stops it (CPU, wall time and memory limits on the
#    decoding child) and exits 1 naming the trace and its metadata file;
#  - a trace directory with a subdirectory that cannot be entered is an
#    error that says "Permission denied" and where, not "no metadata".
source "$(dirname "$0")/lib.sh"
require_cmd timeout
SRC="$GILSCOPE_SRC/tests/fuzz/known/ctf-babeltrace-msg-iter-assert"

for cut in 100 6000; do
  d="$WORK/cut$cut"
  mkdir "$d"
  cp "$SRC/ch_0" "$d/"
  head -c "$cut" "$SRC/metadata" > "$d/metadata"
  rc=0
  # far above the reader's own bound (2 s of CPU for a trace this small)
  timeout 120 "$GILSCOPE" report "$d" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" != 124 ] || fail "metadata cut at $cut bytes: report still hangs (killed after 120 s)"
  [ "$rc" = 1 ] || { cat "$WORK/err" >&2; fail "metadata cut at $cut bytes: exit $rc, want 1"; }
  grep -q "^gilscope report: $d: libbabeltrace2 did not finish decoding this CTF trace" "$WORK/err" \
    || { cat "$WORK/err" >&2; fail "cut at $cut: no clear error"; }
  grep -qF "($d/metadata)" "$WORK/err" || fail "cut at $cut: the metadata file is not named"
  [ ! -s "$WORK/out" ] || fail "cut at $cut: printed a report"
done

# A subdirectory that cannot be entered. root may enter any directory, so
# as root the report runs as nobody.
mkdir -p "$WORK/perm/trace/locked"
cp "$SRC/ch_0" "$WORK/perm/trace/"
chmod 000 "$WORK/perm/trace/locked"
chmod 755 "$WORK" "$WORK/perm" "$WORK/perm/trace"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  require_cmd setpriv
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
rc=0
"${as_user[@]}" "$GILSCOPE" report "$WORK/perm/trace" > /dev/null 2> "$WORK/err" || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/err" >&2; fail "unreadable subdirectory: exit $rc, want 1"; }
grep -qF "$WORK/perm/trace/locked: cannot look for its \`metadata\` file: Permission denied" "$WORK/err" \
  || { cat "$WORK/err" >&2; fail "unreadable subdirectory: the message does not say permission denied and where"; }
chmod 755 "$WORK/perm/trace/locked"
echo ok
