#!/usr/bin/env bash
# What a Python stack walk (gilscope record --stacks) costs per GIL event,
# and a native stack (--native) on top of it: the BPF run time of the
# take_gil / drop_gil programs without, with --stacks, with --stacks --native, on a two-thread CPython countdown, from the kernel's own BPF
# statistics (kernel.bpf_stats_enabled, switched on for the run and put
# back). Independent of the machine's load, unlike wall-time slowdowns.
#   sudo scripts/stack-cost.sh [BUILD] [PYTHON] [RUNS]
set -euo pipefail
BUILD=${1:-build}
PY=${2:-$(pyenv root)/versions/3.11.7/bin/python3.11}
RUNS=${3:-2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
G="$BUILD/tools/gilscope/gilscope"
CD="$SRC/tests/integration/python/countdown.py"
command -v bpftool >/dev/null || { echo "stack-cost: needs bpftool" >&2; exit 1; }
old=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'echo "$old" > /proc/sys/kernel/bpf_stats_enabled' EXIT
echo 1 > /proc/sys/kernel/bpf_stats_enabled
tmp=$(mktemp -d)
for i in $(seq "$RUNS"); do
  for mode in plain stacks native; do
    opt=(); [ "$mode" = stacks ] && opt=(--stacks)
    [ "$mode" = native ] && opt=(--stacks --native)
    bpftool prog show -j > "$tmp/before.json"
    "$G" record "${opt[@]}" -o "$tmp/t.gst" -- "$PY" "$CD" 40000000 2 2>/dev/null &
    rec=$!
    sleep 4
    # our own programs: those loaded since the recorder started (other
    # gilscope processes on the machine have their own)
    bpftool prog show -j > "$tmp/progs.json"
    python3 - "$mode" "$tmp/progs.json" "$tmp/before.json" <<'PY'
import json, sys
mode, progs = sys.argv[1], json.load(open(sys.argv[2]))
old = {p["id"] for p in json.load(open(sys.argv[3]))}
row = []
for p in progs:
    if p["id"] not in old and p.get("name") in ("py3_take_gil", "py3_drop_gil") and p.get("run_cnt"):
        row.append("%s %.0f ns/run (%d runs)" % (p["name"], p["run_time_ns"] / p["run_cnt"], p["run_cnt"]))
print("%-6s %s" % (mode, "; ".join(row) or "no program found"))
PY
    wait "$rec"
  done
done
rm -rf "$tmp"
