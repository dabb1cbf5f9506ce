#!/usr/bin/env bash
# Installs the Debian packages, builds gilscope and runs the main demo: the
# I/O convoy (an echo server beside one CPU-bound thread) under each GIL
# policy, with a printed comparison and one trace file per policy.
#
# Environment: GILSCOPE_BUILD_DIR (build), GILSCOPE_DEMO_OUT (demo-traces),
# GILSCOPE_DEMO_DURATION (seconds per convoy phase, 0.5), GILSCOPE_DEMO_ROUNDS
# (interleaved solo/policy/ceiling rounds, medians; 3), GILSCOPE_DEMO_CPU (1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${GILSCOPE_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
GILSCOPE="$BUILD/tools/gilscope/gilscope"
OUT=${GILSCOPE_DEMO_OUT:-demo-traces}
DURATION=${GILSCOPE_DEMO_DURATION:-0.5}
ROUNDS=${GILSCOPE_DEMO_ROUNDS:-3}
CPU=${GILSCOPE_DEMO_CPU:-1}
mkdir -p "$OUT"

ran=()
for policy in legacy cpython fifo prio; do
  echo "== convoy under $policy: echo server + $CPU CPU thread(s), $ROUNDS rounds of ${DURATION}s phases"
  rc=0
  "$GILSCOPE" run convoy --cpu-threads "$CPU" --policy "$policy" -d "$DURATION" \
    --rounds "$ROUNDS" \
    --json -o "$OUT/convoy-$policy.gst" > "$OUT/convoy-$policy.json" \
    2> "$OUT/convoy-$policy.err" || rc=$?
  if [ $rc -ne 0 ]; then
    if [ "$policy" = prio ] && grep -q "not available" "$OUT/convoy-$policy.err"; then
      echo "   skipped: this libgil has no 'prio' policy (runtime/policy_prio.c not built)"
    else
      cat "$OUT/convoy-$policy.err" >&2
      echo "   FAILED (exit $rc)" >&2
    fi
    rm -f "$OUT/convoy-$policy.json" "$OUT/convoy-$policy.gst"
    continue
  fi
  rm -f "$OUT/convoy-$policy.err"
  ran+=("$OUT/convoy-$policy.json")
done

echo
if [ ${#ran[@]} -gt 0 ]; then
  python3 - "${ran[@]}" <<'EOF'
import json, sys
rows = [json.load(open(p)) for p in sys.argv[1:]]
print("%-8s %10s %10s %11s %12s %10s %14s" % ("policy", "solo_rps", "rps", "ceiling_rps",
      "rps/ceiling", "cpu_work/s", "cpu vs ceiling"))
for d in rows:
    print("%-8s %10.0f %10.0f %11.0f %11.0f%% %10.3g %13.0f%%" % (
        d["policy"], d["solo_rps"], d["rps"], d["ceiling_rps"],
        100 * d["rps_over_ceiling"], d["cpu_work_per_s"],
        100 * d["cpu_work_over_ceiling"]))
print()
print("rps: requests/s of the echo server with the CPU thread(s) under the policy;")
print("solo: without them;")
print("ceiling: the same CPU threads running without the GIL (what no policy can beat).")
print("Medians of interleaved rounds; on a shared machine expect run-to-run noise")
print("(docs/scenarios.md has medians of repeated runs). Traces: the first round's")
print("policy phase.")
EOF
fi
echo
echo "Traces and JSON written to $OUT/. Analyse one with:"
echo "  $GILSCOPE report $OUT/convoy-cpython.gst"
