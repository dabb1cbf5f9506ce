#!/usr/bin/env bash
# gilscope run's command line: help, usage errors (exit 2), run errors
# (exit 1) that name the problem.
source "$(dirname "$0")/lib.sh"

"$GILSCOPE" run --help > "$WORK/h" || fail "--help exit"
grep -q "Examples:" "$WORK/h" || fail "--help has no examples"
"$GILSCOPE" help run | grep "countdown" > /dev/null || fail "gilscope help run"

expect() {
  local want=$1 pattern=$2; shift 2
  local rc=0
  "$GILSCOPE" "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ $rc = "$want" ] || fail "'$*': exit $rc, want $want"
  grep -q -- "$pattern" "$WORK/err" || fail "'$*': stderr lacks '$pattern': $(cat "$WORK/err")"
}
expect 2 "which scenario" run
expect 2 "unknown scenario" run bogus
expect 2 "unknown policy" run countdown --policy nope
expect 2 "--threads" run countdown --threads many
expect 2 "--duration" run convoy -d -1
expect 2 "--sched" run priority --sched rr
expect 2 "unexpected argument" run countdown convoy
expect 2 "interval-us" run convoy --interval-us 0
expect 1 "/nonexistent/dir/t.gst" run countdown --units 1000 -o /nonexistent/dir/t.gst
expect 1 "duty cycle" run priority --pin --hog-busy-us 9500 --hog-sleep-us 500
echo ok
