#!/bin/bash
# bench/isolate.sh CMD [ARGS...]: runs CMD in a session of its own whose
# scheduler autogroup is at nice -20, and CMD itself at nice -20, so that
# timings taken on a machine shared with other work are not at the mercy of
# that work. Needs root (lowering a nice value).
#
# Why not just `nice -n -20 CMD`: with kernel.sched_autogroup_enabled=1 (the
# default) every session is one scheduling group and a nice value only ranks
# threads inside their own session; against other sessions a process weighs
# what its session's autogroup weighs. Why not SCHED_FIFO (`chrt -f`): equal
# FIFO priorities do not time-slice, so a woken thread queued behind a
# CPU-bound one on its CPU waits until that one blocks (docs/performance.md,
# "Measuring on a shared machine").
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: bench/isolate.sh CMD [ARGS...]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/isolate.sh: needs root to set nice -20 (or run CMD under plain nice)" >&2
  exit 1
fi
exec setsid -w bash -c 'echo -20 > /proc/self/autogroup && exec nice -n -20 "$@"' isolate "$@"
