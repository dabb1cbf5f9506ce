#!/usr/bin/env bash
# The session of docs/tutorial-whatif.md, as a script: records a CPython 3.11
# echo service beside a CPU-bound thread, reports it, replays it under
# cpython (self-check), a 1 ms interval and prio, and diffs the runs.
# Usage (root): docs/examples/whatif-session.sh [BUILD_DIR] [OUT_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build}
OUT=${2:-whatif-out}
G="$BUILD/tools/gilscope/gilscope"
PY=$(ls -d "$(pyenv root)"/versions/3.11*/bin/python 2>/dev/null | sort -V | tail -1)
[ -x "$PY" ] || { echo "needs a CPython 3.11 from pyenv" >&2; exit 1; }
mkdir -p "$OUT"
cd "$OUT"
cp "$here/echo_service.py" .

run() { echo "\$ $*"; "$@"; echo "(exit $?)"; echo; }

run "$PY" echo_service.py 3 0
run "$G" record -o svc.gst -- "$PY" echo_service.py 3 1
run "$G" report svc.gst --summary
run "$G" replay svc.gst -o self.gst
run "$G" replay svc.gst --no-self-check --interval-us 1000 -o 1ms.gst
run "$G" replay svc.gst --no-self-check --policy prio -o prio.gst
run "$G" diff svc.gst 1ms.gst -n 12
run "$G" diff 1ms.gst prio.gst -n 12
