#!/usr/bin/env bash
# Verifies one Promela model with spin: generates the verifier (spin -a),
# compiles it and runs it; fails on any assertion violation, invalid end
# state (deadlock / lost wake-up) or unreached-memory-bound search.
# Usage: run.sh MODEL.pml [-DNAME=VALUE ...]   (defines go to spin's cpp)
set -euo pipefail
model=$(readlink -f "$1"); shift
command -v spin >/dev/null || { echo "run.sh: spin not installed (scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/gsmodel.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$(dirname "$model")"/*.pml .
spin "$@" -a "$(basename "$model")" >spin.out 2>&1 || { cat spin.out; exit 1; }
"${CC:-cc}" -O2 -DSAFETY -DMEMLIM=${GS_MODEL_MEMLIM_MB:-2048} -DCOLLAPSE -DVECTORSZ=4096 -w -o pan pan.c
./pan -m100000 >pan.out 2>&1 || true
# is not a pan flag; invalid end states are on by default in SAFETY mode
cat pan.out
errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out | head -1)
if [ "${errors:-x}" != 0 ] || grep -q "max search depth too small\|out of memory\|earch not completed" pan.out; then
	echo "run.sh: $(basename "$model") $*: FAILED" >&2
	if ls ./*.trail >/dev/null 2>&1; then
		echo "--- counterexample (spin -t -p) ---" >&2
		spin "$@" -t -p "$(basename "$model")" | tail -120 >&2
	fi
	exit 1
fi
echo "run.sh: $(basename "$model") $*: OK"
