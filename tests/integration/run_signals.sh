#!/usr/bin/env bash
# SIGINT/SIGTERM during gilscope run: exit 0 (ending a run early is a normal
# end, as for record: docs/cli.md), JSON flagged interrupted,
# and a complete trace whose END block carries GS_END_F_INTERRUPTED.
source "$(dirname "$0")/lib.sh"
CHECK="python3 $GILSCOPE_SRC/tests/integration/run_trace_check.py"
pid=
# A failed check must not leave a run behind (ctest would wait for it).
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$WORK"' EXIT

# Waits until the trace file exists: the traced phase has begun (for convoy,
# after the 3 s solo phase; the signal then lands in the 3 s policy phase).
wait_for() {
  local i
  for i in $(seq 1 200); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  fail "$1 never appeared"
}

"$GILSCOPE" run convoy -k 1 -d 3 --json -o "$WORK/int.gst" > "$WORK/int.json" &
pid=$!
wait_for "$WORK/int.gst"
sleep 0.3
kill -INT $pid
rc=0; wait $pid || rc=$?
pid=
[ $rc = 0 ] || fail "SIGINT: exit $rc, want 0"
[ "$(json_get "$WORK/int.json" 'd["interrupted"]')" = True ] || fail "not flagged"
$CHECK "$WORK/int.gst" summary > "$WORK/s.json" || fail "trace unreadable"
[ "$(json_get "$WORK/s.json" 'd["end"]["flags"] & 1')" = 1 ] || fail "END not interrupted"
$CHECK "$WORK/int.gst" match "$WORK/int.json" || fail "trace vs counters"

# priority traces its only phase, so the trace appears at once.
"$GILSCOPE" run priority -k 1 -d 60 -o "$WORK/term.gst" > "$WORK/term.txt" &
pid=$!
wait_for "$WORK/term.gst"
kill -TERM $pid
rc=0; wait $pid || rc=$?
pid=
[ $rc = 0 ] || fail "SIGTERM: exit $rc, want 0"
grep -q interrupted "$WORK/term.txt" || fail "summary does not say interrupted"
$CHECK "$WORK/term.gst" summary > "$WORK/s.json" || fail "trace unreadable"
[ "$(json_get "$WORK/s.json" 'd["end"]["flags"] & 1')" = 1 ] || fail "END not interrupted"
echo ok
