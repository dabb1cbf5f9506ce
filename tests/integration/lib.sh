# Shared by the integration tests (source it). Conventions:
#  - GILSCOPE_BUILD / GILSCOPE_SRC come from ctest; GILSCOPE is the CLI.
#  - A test that needs something this machine lacks calls skip "reason":
#    exit 77 (ctest: skipped) normally, but a failure when CI=true, because CI
#    runs as root on a machine that has eBPF, uprobes, LTTng and CPython.
#  - Each test works in its own $WORK directory, removed on exit; with
#    GILSCOPE_KEEP_WORK=1 in the environment a failing test keeps it and says
#    where (to read the logs of an intermittent failure).
#  - pipefail is on: never `CMD | grep -q PAT` where the result matters.
#    grep -q exits at the first match; CMD's next write then dies of
#    SIGPIPE and the pipeline fails (bpftool writes line by line: the
#    exporter_symfree check of its tstats map failed 1 run in 5 at load 13).
#    `CMD | grep PAT > /dev/null` reads to the end.
set -euo pipefail
GILSCOPE_BUILD=${GILSCOPE_BUILD:?run through ctest or set GILSCOPE_BUILD}
GILSCOPE_SRC=${GILSCOPE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GILSCOPE="$GILSCOPE_BUILD/tools/gilscope/gilscope"
# the Python workloads and trace readers the tests share
PYDIR="$GILSCOPE_SRC/tests/integration/python"
LIBGIL="$GILSCOPE_BUILD/runtime/libgil.so"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gilscope-test.XXXXXX")
# keep_or_remove_work [STATUS]: the EXIT trap's end (a test with a trap of
# its own passes the status it saved first).
keep_or_remove_work() {
  local rc=${1:-$?}
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "${GILSCOPE_KEEP_WORK:-}" = 1 ]; then
    echo "kept $WORK (exit $rc, GILSCOPE_KEEP_WORK=1)" >&2
  else
    rm -rf "$WORK"
  fi
}
trap keep_or_remove_work EXIT

# Every HTTP request of a test is bounded: a server that accepts and never
# answers fails the test in a minute, not at ctest's 900 s (a later
# --max-time on the command line wins).
curl() {
  command curl --max-time 60 "$@"
}

# dump_process PID WHAT: what PID and each of its threads are doing (state,
# wait channel, kernel stack, and user stacks when gdb is installed), for a
# test that found it still running past a bound.
dump_process() {
  local pid=$1 t
  echo "== $2: PID $pid still running: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
  for t in /proc/"$pid"/task/*; do
    [ -e "$t/stat" ] || continue
    echo "-- thread ${t##*/} ($(cat "$t/comm" 2>/dev/null)): state" \
      "$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1), wchan $(cat "$t/wchan" 2>/dev/null)"
    sed 's/^/     /' "$t/stack" 2>/dev/null || true
  done
  if command -v gdb > /dev/null 2>&1; then
    timeout 60 gdb -p "$pid" -batch -ex "thread apply all bt" 2>&1 |
      grep -E '^(Thread|#)' | head -80 || true
  fi
}

# wait_bounded SECONDS PID WHAT: `wait PID` (a child of the test), for at
# most SECONDS. Past the bound it prints dump_process's view of PID to
# stderr and returns 124, so a hang fails with where it hangs instead of
# ctest's timeout with nothing (exporter_cpython27 hung 900 s once, in a
# rehearsal at load 15, with no clue which of its waits it was in).
wait_bounded() {
  local secs=$1 pid=$2 what=$3 i st=
  for ((i = 0; i < secs * 10; i++)); do
    st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || st=
    if [ -z "$st" ] || [ "$st" = Z ]; then
      wait "$pid"
      return
    fi
    sleep 0.1
  done
  dump_process "$pid" "$what after ${secs} s" >&2
  return 124
}

# stop_bpftrace PID WHAT: ends a bpftrace started in the background (a child
# of the test) the way Ctrl-C does, so that it prints its maps, and waits
# for it, for at most 60 s. One SIGINT is not always enough: bpftrace 0.17
# here once sat in its poll loop for minutes after one (seen in
# ebpf_cpython27 at load 3, a second SIGINT ended it at once), so the
# signal is repeated every second until it exits. 124 past the bound (with
# dump_process's view of it), else bpftrace's own status.
stop_bpftrace() {
  local pid=$1 what=$2 i j st=
  for ((i = 0; i < 60; i++)); do
    kill -INT "$pid" 2>/dev/null || break
    sleep 0.1
    for ((j = 0; j < 9; j++)); do
      st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || st=
      { [ -z "$st" ] || [ "$st" = Z ]; } && break 2
      sleep 0.1
    done
  done
  [ "$i" -eq 0 ] || echo "stop_bpftrace: $what needed $((i + 1)) SIGINTs" >&2
  wait_bounded 5 "$pid" "$what after SIGINT"
}

# libc_caller_bounds LIBC: "BEFORE AFTER", the extent of LIBC's executable
# segment around pthread_cond_signal's entry, for a bpftrace reference count
# that leaves out the signals libc makes itself (glibc's timed wait, when
# it expires as it is signalled, passes the signal on from inside libc;
# gilscope leaves those out, probes/bpf/libc_caller.bpf.h). In a bpftrace
# probe on pthread_cond_signal the caller is libc when the return address,
# the word at the stack pointer, lies in [ip - BEFORE, ip + AFTER). (Told by
# the thread being inside pthread_cond_timedwait instead, a uprobe on that
# symbol never fired here: bpftrace 0.17, kernel 6.18, glibc 2.36.)
libc_caller_bounds() {
  local sig start size
  sig=$(readelf -sW "$1" | awk '$8 == "pthread_cond_signal@@GLIBC_2.3.2" && !n++ { print $2 }')
  read -r start size < <(readelf -lW "$1" | awk '$1 == "LOAD" && / R E / && !n++ { print $3, $6 }')
  [ -n "$sig" ] && [ -n "$start" ] || fail "$1: no pthread_cond_signal or no executable segment"
  echo $(( 0x$sig - start )) $(( start + size - 0x$sig ))
}

skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL (CI=true, so this may not skip): $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (eBPF, uprobes, tracefs)"
}

# eBPF CO-RE tools (record, top, exporter) need the kernel's BTF
require_btf() {
  [ -e /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "needs $c (scripts/install-deps.sh)"
  done
}

# Prints the path of a pyenv CPython X.Y (e.g. 3.11), or skips.
find_python() {
  local want=$1 root v
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for v in $(ls -1 "$root/versions" 2>/dev/null | sort -V -r); do
    case "$v" in
      "$want"|"$want".*)
        if [ -x "$root/versions/$v/bin/python" ]; then
          echo "$root/versions/$v/bin/python"
          return 0
        fi ;;
    esac
  done
  skip "needs CPython $want from pyenv (looked in $root/versions)"
}

# expect_exit STATUS PATTERN CMD...: CMD exits STATUS and says PATTERN (a
# grep pattern) on stderr; its stdout is in $WORK/out, stderr in $WORK/err.
expect_exit() {
  local want=$1 pat=$2 rc=0
  shift 2
  "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, not $want: $(cat "$WORK/err")"
  grep -q -- "$pat" "$WORK/err" || fail "'$*' did not say '$pat': $(cat "$WORK/err")"
}

# json_get FILE EXPR: reads a value from a JSON file with python3.
json_get() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}
