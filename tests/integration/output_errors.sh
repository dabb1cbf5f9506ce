#!/usr/bin/env bash
# Output that cannot be written is an error: every command whose standard
# output is /dev/full (ENOSPC on every write) exits non-zero and says so,
# instead of exit 0 with the report lost (lib/output_check.c).
source "$(dirname "$0")/lib.sh"
[ -w /dev/full ] || skip "needs /dev/full"

"$GILSCOPE" run countdown --threads 2 --units 200000 -o "$WORK/t.gst" > /dev/null \
  || fail "gilscope run"

check() { # WHAT CMD...: CMD > /dev/full must fail with a message
  local what=$1 rc=0
  shift
  timeout 120 "$@" > /dev/full 2> "$WORK/err" || rc=$?
  [ "$rc" != 0 ] || fail "$what: exit 0 with its output lost"
  [ "$rc" != 124 ] || fail "$what: hung"
  grep -qE "gilscope [a-z]+: writing (standard output|-)" "$WORK/err" || {
    cat "$WORK/err" >&2; fail "$what: exit $rc without saying the output was lost"; }
}
check "run"            "$GILSCOPE" run countdown --threads 2 --units 200000
check "run --json"     "$GILSCOPE" run countdown --threads 2 --units 200000 --json
check "report"         "$GILSCOPE" report "$WORK/t.gst"
check "report --json"  "$GILSCOPE" report --json "$WORK/t.gst"
check "diff"           "$GILSCOPE" diff "$WORK/t.gst" "$WORK/t.gst"
check "diff --json"    "$GILSCOPE" diff --json "$WORK/t.gst" "$WORK/t.gst"
check "replay --json"  "$GILSCOPE" replay --json "$WORK/t.gst"
check "export"         "$GILSCOPE" export -f chrome-json -o - "$WORK/t.gst"
# a file output on a full device: report -o
rc=0; "$GILSCOPE" report -o /dev/full "$WORK/t.gst" 2> "$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "writing /dev/full" "$WORK/err" || {
  cat "$WORK/err" >&2; fail "report -o /dev/full: exit $rc"; }

# top --json writes a line per interval: it stops at the first lost one.
if [ "$(id -u)" -eq 0 ]; then
  check "top --json" "$GILSCOPE" top --json -i 0.3 -d 5 -- \
    "$GILSCOPE" run countdown --threads 2 --units 400000000
  grep -q "gilscope top: writing standard output" "$WORK/err" || fail "top: no message of its own"
elif [ "${CI:-}" = true ]; then
  fail "top --json needs root (CI runs as root)"
else
  echo "top --json not checked: needs root" >&2
fi
echo ok
