#!/usr/bin/env bash
# A CTF trace on which libbabeltrace2 2.0 aborts (tests/fuzz/known/) must be
# a clear error from gilscope report, not the end of the process.
source "$(dirname "$0")/lib.sh"
BAD="$GILSCOPE_SRC/tests/fuzz/known/ctf-babeltrace-msg-iter-assert"
[ -d "$BAD" ] || fail "missing $BAD"
set +e
"$GILSCOPE" report "$BAD" >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$WORK/err" >&2; fail "exit $rc, want 1"; }
grep -q "ctf-babeltrace-msg-iter-assert: libbabeltrace2 crashed" "$WORK/err" \
  || fail "no clear error: $(cat "$WORK/err")"
[ ! -s "$WORK/out" ] || fail "printed a report for a trace it could not read"
echo "malformed CTF: exit 1 with: $(grep crashed "$WORK/err")"
