#!/usr/bin/env bash
# The session of docs/tutorial-whatif.md, as a script: records a CPython 3.11
# echo service beside a CPU-bound thread, reports it, replays it under
# cpython (self-check), a 1 ms interval and prio, and diffs the runs.
# Usage (root): docs/examples/whatif-session.sh [BUILD_DIR] [OUT_DIR]
# Stops at the first command that fails, with its exit status; a replay whose
# self-check missed (exit 3) does not stop the session, but the script then
# exits 3 too, so a caller knows the what-if figures are not to be trusted.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build}
OUT=${2:-whatif-out}
# Both paths are taken before the cd below, so relative ones work.
BUILD=$(cd "$BUILD" && pwd) || { echo "$0: no build directory '${1:-}'" >&2; exit 2; }
G="$BUILD/tools/gilscope/gilscope"
[ -x "$G" ] || { echo "$0: $G is missing: build first (cmake --build $BUILD)" >&2; exit 2; }
PY=$(ls -d "$(pyenv root)"/versions/3.11*/bin/python 2>/dev/null | sort -V | tail -1)
[ -x "$PY" ] || { echo "$0: needs a CPython 3.11 from pyenv" >&2; exit 1; }
mkdir -p "$OUT" && cd "$OUT" || exit 1
cp "$here/echo_service.py" . || exit 1

status=0
run() {
  echo "\$ $*"
  "$@"
  local rc=$?
  echo "(exit $rc)"
  echo
  if [ "$rc" -eq 3 ] && [ "$2" = replay ]; then
    status=3
  elif [ "$rc" -ne 0 ]; then
    echo "$0: '$*' failed (exit $rc)" >&2
    exit "$rc"
  fi
}

run "$PY" echo_service.py 3 0
run "$G" record -o svc.gst -- "$PY" echo_service.py 3 1
run "$G" report svc.gst --summary
run "$G" replay svc.gst -o self.gst
run "$G" replay svc.gst --no-self-check --interval-us 1000 -o 1ms.gst
run "$G" replay svc.gst --no-self-check --policy prio -o prio.gst
run "$G" diff svc.gst 1ms.gst -n 12
run "$G" diff 1ms.gst prio.gst -n 12
if [ "$status" -ne 0 ]; then
  echo "$0: a replay's self-check missed its tolerance: do not trust the what-if figures" >&2
fi
exit "$status"
