#!/bin/bash
# Load measurement of `gilscope exporter` (docs/exporter.md, "Cost"):
# NPROC CPython processes x NTHREADS threads, each thread sleeping SLEEP_MS
# between short bursts of Python work (so the GIL changes hands all the
# time without saturating the machine), the exporter scraped once a second
# (curl, like a Prometheus with scrape_interval 1s) for SECONDS seconds.
# Prints the GIL acquisitions per second, the exporter's CPU time and peak
# RSS, the series served (per thread name and, in a second run, --per-tid
# against the series cap), and the probes' estimated cost.
#
# Usage (root): scripts/exporter-load.sh [BUILD_DIR]
# Environment: NPROC=50 NTHREADS=8 SECONDS_=60 SLEEP_MS=20 PY=python3.11
set -euo pipefail
BUILD=${1:-build}
GILSCOPE="$BUILD/tools/gilscope/gilscope"
NPROC=${NPROC:-50}
NTHREADS=${NTHREADS:-8}
DURATION=${SECONDS_:-60}
SLEEP_MS=${SLEEP_MS:-20}
PY=${PY:-$(pyenv root 2>/dev/null)/versions/$(ls "$(pyenv root)/versions" | grep '^3\.11' | tail -1)/bin/python}
PORT=${PORT:-19733}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x "$PY" ] || { echo "no CPython 3.11 at $PY (set PY=)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/gilscope-load.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/worker.py" <<EOF
import threading, time
def work():  # until the script kills it
    while True:
        n = 0
        for _ in range(300):
            n += 1
        time.sleep($SLEEP_MS / 1000.0)
ts = [threading.Thread(target=work, daemon=True) for _ in range($NTHREADS - 1)]
for t in ts: t.start()
work()
EOF

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
metric() { awk -v m="$1" '$1 == m { print $2 }' "$2"; }

run() { # run LABEL EXTRA_EXPORTER_ARGS...
  local label=$1; shift
  "$GILSCOPE" exporter --listen "127.0.0.1:$PORT" -p "$(IFS=,; echo "${workers[*]}")" "$@" \
    2> "$WORK/exporter.err" & local ex=$!
  pids+=($ex)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/metrics" > /dev/null 2>&1 && break; sleep 0.1; done
  sleep 1
  curl -sf "http://127.0.0.1:$PORT/metrics" > "$WORK/m0"
  local c0 t0 t1 c1 i
  c0=$(cpu_ticks $ex); t0=$(date +%s.%N)
  for i in $(seq "$DURATION"); do
    curl -sf "http://127.0.0.1:$PORT/metrics" > "$WORK/m1"
    sleep 1
  done
  curl -sf "http://127.0.0.1:$PORT/metrics" > "$WORK/m1"
  c1=$(cpu_ticks $ex); t1=$(date +%s.%N)
  local hwm; hwm=$(hwm_kib $ex)
  kill -TERM $ex; wait $ex || true
  python3 - "$label" "$WORK/m0" "$WORK/m1" "$c0" "$c1" "$t0" "$t1" "$hwm" "$(getconf CLK_TCK)" <<'PY'
import re, sys
label, m0, m1 = sys.argv[1:4]
c0, c1, t0, t1, hwm, hz = map(float, sys.argv[4:10])
def read(path):
    acq = 0.0; d = {}
    for line in open(path):
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if name.startswith("gilscope_gil_acquisitions_total{"):
            acq += float(value)
        m = re.match(r"(gilscope_exporter_\w+|gilscope_traced_\w+)(\{[^}]*\})?$", name)
        if m:
            d[m.group(0)] = float(value)
    return acq, d
a0, d0 = read(m0); a1, d1 = read(m1)
secs = t1 - t0
rate = (a1 - a0) / secs
cpu = (c1 - c0) / hz / secs
cost = (d1["gilscope_exporter_probe_cost_seconds_total"] - d0["gilscope_exporter_probe_cost_seconds_total"]) / secs
lines = sum(1 for l in open(m1) if not l.startswith("#"))
print("%s: %.0f s, %d processes, %d threads traced" % (label, secs, d1["gilscope_traced_processes"], d1["gilscope_traced_threads"]))
print("  GIL acquisitions/s          %.0f" % rate)
print("  exporter CPU                %.2f %% of one core (%.3f %% per 10 000 acquisitions/s)" % (100 * cpu, 100 * cpu / (rate / 1e4) if rate else 0))
print("  exporter peak RSS           %.1f MiB" % (hwm / 1024))
print("  probes (estimated, in the traced processes) %.1f %% of one core (%.2f %% per 10 000 acquisitions/s)" % (100 * cost, 100 * cost / (rate / 1e4) if rate else 0))
print("  series on the page          %d (thread-group series %d, folded groups %d)" % (lines, d1["gilscope_exporter_series"], d1["gilscope_exporter_folded_groups"]))
PY
}

for i in $(seq "$NPROC"); do
  "$PY" "$WORK/worker.py" & workers+=($!); pids+=($!)
done
sleep 2
echo "$NPROC processes x $NTHREADS threads of $PY, sleeping ${SLEEP_MS} ms between bursts"
run "per thread name (default)"
run "per thread (--per-tid, default cap of 20000 series)" --per-tid
