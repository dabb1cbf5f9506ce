#!/bin/bash
# bench/libgil-ab.sh A_LIBDIR B_LIBDIR PAIRS CMD [ARGS...]: runs CMD (a
# program linked against libgil) PAIRS times with each of two libgil builds,
# interleaved A B, B A, ..., every run under bench/isolate.sh. Each run loads
# a fresh copy of the library (a new inode) from a directory of its own, so
# that uprobes which another session's system-wide tracer left on an earlier
# copy (a `gilscope exporter` without -p attaches to every libgil on the
# machine, and a uprobe applies to every process mapping that inode) do not
# slow it; and it counts the uprobes found on its copy afterwards. Output,
# one line per run: UTC time, 1-minute load, side (A or B), traced=N, and
# CMD's output on one line. A run with traced > 0 was slowed by a tracer
# for part of its time: report it apart (docs/scenarios.md, "the slow mode
# was uprobes"). Needs root (bench/isolate.sh; bpftool for the count).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: bench/libgil-ab.sh A_LIBDIR B_LIBDIR PAIRS CMD [ARGS...]" >&2
  exit 2
fi
a=$1 b=$2 pairs=$3
shift 3
for dir in "$a" "$b"; do
  if ! compgen -G "$dir/libgil.so*" >/dev/null; then
    echo "bench/libgil-ab.sh: no libgil.so* in $dir (give the directory holding a build's runtime/libgil.so*)" >&2
    exit 2
  fi
done
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run_one() { # side libdir CMD...
  local side=$1 lib=$2 d out traced
  shift 2
  d=$(mktemp -d -p "$work")
  cp "$lib"/libgil.so* "$d"/
  local t l
  t=$(date -u +%T)
  l=$(cut -d' ' -f1 /proc/loadavg)
  out=$(LD_LIBRARY_PATH=$d "$here/isolate.sh" "$@" | tr '\n' ' ')
  traced=$( (bpftool perf list 2>/dev/null || true) | grep -c "$d" || true)
  rm -rf "$d"
  echo "$t $l $side traced=$traced $out"
}
for ((i = 1; i <= pairs; i++)); do
  if ((i % 2)); then
    run_one A "$a" "$@"; run_one B "$b" "$@"
  else
    run_one B "$b" "$@"; run_one A "$a" "$@"
  fi
done
