#!/usr/bin/env bash
# bench/replay-selfcheck.sh [-n N] [-k] [BUILD_DIR]: how reliably `gilscope
# replay` reproduces a fresh recording on this machine, as it is loaded now
# (docs/replay.md, "Measured"). N times (default 10): record a fresh CPython
# 3.11 echo convoy (docs/examples/echo_service.py 3 1, plainly, as a user
# would), replay it once (self-check only), and print one row: the load
# average, how much the recording's GIL holders were preempted, each
# attempt's run-queue wait, the self-check's verdict and its five figures
# as replay/original; -k keeps the recordings and replays (the directory is
# printed). Needs root (eBPF recording) and a pyenv CPython 3.11.
# Not a test: its result depends on the machine's load, which is the point.
set -euo pipefail
n=10 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -k) keep=1; shift ;;
    *) break ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$here/../build}" && pwd)
G="$BUILD/tools/gilscope/gilscope"
[ -x "$G" ] || { echo "$0: $G is missing: build first" >&2; exit 2; }
PY=$(ls -d "$(pyenv root)"/versions/3.11*/bin/python 2>/dev/null | sort -V | tail -1)
[ -x "$PY" ] || { echo "$0: needs a CPython 3.11 from pyenv" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/replay-selfcheck.XXXXXX")
if [ "$keep" = 1 ]; then echo "keeping everything in $work"; else trap 'rm -rf "$work"' EXIT; fi
cp "$here/../docs/examples/echo_service.py" "$work/"
cd "$work"
printf '%-3s %-5s %-9s %-17s %-6s %s\n' N LOAD PREEMPTED "RUN QUEUE (tries)" CHECK \
  "hold p50, p90, wait p50, p90, loss/IO call (replay/original)"
passed=0
for i in $(seq 1 "$n"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$G" record -o "r$i.gst" -- "$PY" echo_service.py 3 1 > "r$i.rec" 2>&1 ||
    { echo "$i: gilscope record failed: $(tail -3 "r$i.rec")" >&2; exit 1; }
  rc=0
  "$G" replay --json "r$i.gst" -o "r$i.self.gst" > "r$i.json" 2> "r$i.err" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { echo "$i: replay exited $rc: $(cat "r$i.err")" >&2; exit 1; }
  [ "$rc" -eq 0 ] && passed=$((passed + 1))
  python3 - "r$i.json" "$i" "$load" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); sc = d["self_check"]; m = sc["machine"]
rows = {r["figure"]: r for r in sc["vs_original"] if r["scope"] == "overall" and "within_tolerance" in r}
figs = []
for k in ("hold_p50_us", "hold_p90_us", "wait_p50_us", "wait_p90_us", "convoy_loss_per_io_call_us"):
    r = rows[k]
    figs.append("%.2f%s" % (r["ratio"] if r["ratio"] is not None else float("nan"),
                            "" if r["within_tolerance"] else "!"))
tries = ",".join("%.1f%%" % (100 * (a["run_queue_share"] or 0)) for a in sc["attempts"])
print("%-3s %-5s %-9s %-17s %-6s %s" % (sys.argv[2], sys.argv[3],
      "%.0f%%" % (100 * m["recording_preempted_share"]), tries,
      "pass" if sc["passed"] else "MISS", " ".join(figs)))
if not sc["passed"]:
    print("    what limited it: " + m["limited_by"])
PY
done
echo "$passed of $n self-checks passed (! marks a missed figure)"
