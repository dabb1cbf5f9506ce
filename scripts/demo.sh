#!/usr/bin/env bash
# Installs the Debian packages, builds gilscope and runs the main demo: the
# I/O convoy (an echo server beside one CPU-bound thread) under each GIL
# policy, with a printed comparison and one trace file per policy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${GILSCOPE_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
GILSCOPE="$BUILD/tools/gilscope/gilscope"
OUT=${GILSCOPE_DEMO_OUT:-demo-traces}
mkdir -p "$OUT"
for policy in legacy cpython fifo prio; do
  echo "== convoy under $policy"
  "$GILSCOPE" run convoy --cpu-threads 1 --policy "$policy" -o "$OUT/convoy-$policy.gst"
done
echo
echo "Traces written to $OUT/. Analyse one with:"
echo "  $GILSCOPE report $OUT/convoy-cpython.gst"
