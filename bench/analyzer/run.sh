#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Analyzer throughput: how fast `gilscope report` turns a native trace into
# the full metrics, and how much memory it needs (docs/performance.md,
# section "Analyzer").
#
#   bench/analyzer/run.sh [-n EVENTS] [-r REPS] [-B BUILD] [-t TRACE]
#                         [-c CTF_DIR -N NATIVE]
#
#   -n EVENTS   size of the synthetic trace (default 50000000)
#   -r REPS     report runs; the fastest wall time is kept (default 3)
#   -B BUILD    build directory (default build)
#   -t TRACE    use this native trace instead of generating one
#   -c CTF_DIR  also time `babeltrace2 -c sink.utils.counter` on this CTF
#   -N NATIVE   ... and `gilscope report` on this native trace of the same
#               events (both recorded from one run, see docs/performance.md)
#
# The synthetic trace (gen_trace.c) follows libgil's event protocol: CPU
# threads forced off every switch interval, I/O threads blocking and
# re-acquiring, failed handoffs, so every metric does its work.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=50000000 REPS=3 BUILD=build TRACE="" CTF="" NATIVE=""
while getopts "n:r:B:t:c:N:h" o; do
  case $o in
    n) EVENTS=$OPTARG ;; r) REPS=$OPTARG ;; B) BUILD=$OPTARG ;;
    t) TRACE=$OPTARG ;; c) CTF=$OPTARG ;; N) NATIVE=$OPTARG ;;
    h) sed -n '3,20p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
GILSCOPE=$BUILD/tools/gilscope/gilscope
[ -x "$GILSCOPE" ] || { echo "run.sh: build gilscope first ($GILSCOPE)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "run.sh: needs /usr/bin/time (package time)" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gs-bench-analyzer.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Runs "$@" REPS times; prints "wall_s cpu_s maxrss_kb" of the fastest run.
measure() {
  local best="" i
  for ((i = 0; i < REPS; i++)); do
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$@" > "$TMP/out" 2> "$TMP/err" || {
      cat "$TMP/err" >&2; echo "run.sh: '$*' failed" >&2; exit 1; }
    read -r wall user sys rss < <(tail -1 "$TMP/time")
    local cpu
    cpu=$(awk "BEGIN { print $user + $sys }")
    if [ -z "$best" ] || awk "BEGIN { exit !($wall < ${best%% *}) }"; then
      best="$wall $cpu $rss"
    fi
  done
  echo "$best"
}

rate() { awk "BEGIN { printf \"%.1f\", $1 / $2 / 1000000 }"; }

report_rate() { # TRACE LABEL
  local events w c r
  events=$("$GILSCOPE" report -q --json "$1" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["trace"]["events"])')
  read -r w c r < <(measure "$GILSCOPE" report -q --json -o /dev/null "$1")
  echo "$2: gilscope report --json: $events events, best of $REPS: wall $w s" \
       "($(rate "$events" "$w") M events/s), cpu $c s ($(rate "$events" "$c") M" \
       "events/s of CPU time), peak RSS $((r / 1024)) MiB," \
       "trace $(( $(stat -c %s "$1") / 1048576 )) MiB"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $(date -u +%FT%TZ)"
if [ -z "$TRACE" ] && [ -z "$CTF" ]; then
  cc -O2 -Iprobes -Ilib bench/analyzer/gen_trace.c probes/trace_writer.c \
    probes/crc32c.c -o "$TMP/gen_trace"
  TRACE=$TMP/synthetic.gst
  /usr/bin/time -f "generated in %e s" "$TMP/gen_trace" "$TRACE" "$EVENTS" 2>&1
fi
[ -n "$TRACE" ] && report_rate "$TRACE" synthetic
if [ -n "$CTF" ]; then
  command -v babeltrace2 >/dev/null || { echo "run.sh: needs babeltrace2" >&2; exit 1; }
  read -r w c r < <(measure babeltrace2 "$CTF" -c sink.utils.counter)
  # the counter prints running totals; the last block is the whole trace
  n=$(awk '/Event messages/ { n = $1 } END { print n }' "$TMP/out")
  echo "ctf: babeltrace2 -c sink.utils.counter: $n events, best of $REPS: wall $w s" \
       "($(rate "$n" "$w") M events/s), cpu $c s ($(rate "$n" "$c") M events/s of CPU" \
       "time), peak RSS $((r / 1024)) MiB"
  [ -n "$NATIVE" ] && report_rate "$NATIVE" "native (same run)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
