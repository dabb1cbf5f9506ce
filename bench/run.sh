#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh: run `gilscope bench` and keep its results, as JSON, text and
# the Markdown tables docs/performance.md is made of, in bench/results/
# (not versioned). Extra arguments go to gilscope bench (--quick, --only).
#
#   bench/run.sh                 # everything, ~5 minutes on 2 vCPUs
#   bench/run.sh --quick --only 1,2
#
# Environment: GILSCOPE_BUILD (default ./build) is the build tree.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GILSCOPE_BUILD:-$SRC/build}
GILSCOPE="$BUILD/tools/gilscope/gilscope"
if [ ! -x "$GILSCOPE" ]; then
	echo "bench/run.sh: $GILSCOPE not found: build first" \
	     "(cmake -S . -B build && cmake --build build -j2)" >&2
	exit 1
fi
OUT="$SRC/bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
"$GILSCOPE" bench --json "$@" >"$OUT/bench.json"
python3 "$SRC/bench/json2md.py" "$OUT/bench.json" >"$OUT/tables.md"
echo "bench/run.sh: results in $OUT (bench.json, tables.md)" >&2
cat "$OUT/tables.md"
