#!/usr/bin/env bash
# What SIGKILL (or the OOM killer, or a crash) of a recorder leaves
# (docs/reliability.md, "Streaming"):
#  1. `gilscope run -o` killed mid-run: the trace is readable with
#     --allow-truncated and holds what was streamed before its death (it
#     is killed once its file has grown twice while the run goes on);
#  2. `gilscope record -- CMD` killed mid-run: the same for its trace, and
#     the traced program is never left stopped: it runs to its end;
#  3. `gilscope record -- CMD` frozen right after it started the command,
#     then killed: the command still runs to its end (no gate that needs
#     the recorder alive).
source "$(dirname "$0")/lib.sh"
require_root
require_cmd bpftool
# A failure must not leave a frozen recorder behind (its command would wait
# on its gate, and the test would never end): SIGKILL ends a stopped process.
rec=
trap 'rc=$?; if [ -n "$rec" ]; then kill -9 "$rec" 2>/dev/null || true; fi; keep_or_remove_work $rc' EXIT

# Waits until FILE has at least BYTES bytes (the traced phase has begun).
wait_size() { # FILE BYTES
  for _ in $(seq 1 1200); do
    [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
    sleep 0.05
  done
  fail "$1 never reached $2 bytes"
}
# Waits until FILE has grown twice from its size now: two flushes of the
# stream are on disk (a recorder that writes only at its end never grows).
wait_streamed() { # FILE
  local size grew=0 now
  size=$(stat -c %s "$1")
  for _ in $(seq 1 1200); do
    now=$(stat -c %s "$1")
    if [ "$now" -gt "$size" ]; then
      size=$now
      grew=$((grew + 1))
      [ "$grew" -ge 2 ] && return 0
    fi
    sleep 0.05
  done
  fail "$1 was not streamed (grew $grew times in 60 s)"
}
# A process's state letter (R, S, T, ...), or "gone".
state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone; }
# Waits for PID (not our child) to end; fails if it is ever seen stopped.
wait_gone_never_stopped() { # PID WHAT
  local s
  for _ in $(seq 1 600); do
    s=$(state "$1")
    [ "$s" = gone ] && return 0
    [ "$s" = Z ] && return 0
    [ "$s" = T ] || [ "$s" = t ] && fail "$2: the traced program (pid $1) is stopped (state $s)"
    sleep 0.05
  done
  fail "$2: pid $1 still running after 30 s"
}
events_of() { "$GILSCOPE" report --json --allow-truncated "$1" 2>/dev/null \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["trace"]["events"] if d["partial"] else -1)'; }

# 1. run -o, killed mid-run, once two flushes of its stream are on disk (not
# a fixed time into it: a loaded machine delays the collector thread).
"$GILSCOPE" run priority -k 2 -d 10 -o "$WORK/run.gst" > /dev/null 2>&1 &
pid=$!
wait_size "$WORK/run.gst" 144  # its header: the run has begun
wait_streamed "$WORK/run.gst"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
"$GILSCOPE" report "$WORK/run.gst" > /dev/null 2>&1 && fail "run: a killed recording reads as complete"
"$GILSCOPE" report --json --allow-truncated "$WORK/run.gst" > "$WORK/run.json" \
  || fail "run: the killed recording is not readable"
[ "$(json_get "$WORK/run.json" 'd["partial"]')" = True ] || fail "run: not marked partial"
# what was streamed before the kill is there
span=$(json_get "$WORK/run.json" 'd["window"]["span_ns"]')
events=$(json_get "$WORK/run.json" 'd["trace"]["events"]')
[ "$span" -gt 0 ] && [ "$events" -gt 0 ] ||
  fail "run: $events events over $span ns recorded before SIGKILL (two flushes were on disk)"

# 2. record -- CMD, killed mid-run once two flushes of its stream are on disk.
"$GILSCOPE" record -o "$WORK/rec.gst" -- "$GILSCOPE" run priority -k 2 -d 5 \
  -o "$WORK/rec-builtin.gst" > /dev/null 2> "$WORK/rec.err" &
rec=$!
wait_size "$WORK/rec-builtin.gst" 144
child=$(pgrep -P "$rec" -x gilscope || true)
[ -n "$child" ] || fail "record: no child process"
wait_size "$WORK/rec.gst" 144
wait_streamed "$WORK/rec.gst"
# its BPF programs, by id (/proc/PID/fdinfo of a BPF program fd: prog_id)
progs=$(cat /proc/"$rec"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u)
[ -n "$progs" ] || fail "record: no BPF program found in its file descriptors"
kill -9 "$rec"; wait "$rec" 2>/dev/null || true; rec=
wait_gone_never_stopped "$child" "record killed mid-run"
# the kernel freed them with the process: nothing probes the program now
for id in $progs; do
  for _ in $(seq 100); do
    bpftool prog show id "$id" > /dev/null 2>&1 || break
    sleep 0.05
  done
  bpftool prog show id "$id" > /dev/null 2>&1 && fail "record: BPF program $id outlived its killed loader"
done
"$GILSCOPE" report "$WORK/rec-builtin.gst" > /dev/null \
  || fail "record killed mid-run: the traced program did not finish its work"
n=$(events_of "$WORK/rec.gst")
[ "$n" -gt 0 ] || fail "record killed mid-run: its trace holds $n events (expected the streamed part: two flushes were on disk)"

# 3. record -- CMD frozen as soon as it has started the command, then
# killed: whatever the recorder was doing, the command is not held. A try
# counts when the command still ran at the freeze: on a loaded machine its
# 2 s run could end before the test saw "recording" (the recorder, frozen
# with nothing left to hold, had reaped it: "no child process" at load 11).
# Two tries must count, in at most six.
held=0 try=0
while [ "$held" -lt 2 ] && [ "$try" -lt 6 ]; do
  try=$((try + 1))
  rm -f "$WORK/frz-builtin.gst"
  "$GILSCOPE" record -o "$WORK/frz.gst" -- "$GILSCOPE" run priority -k 1 -d 2 \
    -o "$WORK/frz-builtin.gst" > /dev/null 2> "$WORK/frz.err" &
  rec=$!
  # its "recording ... Ctrl-C to stop" line comes once every probe is in,
  # which takes seconds under load; the command is its child from the start
  child=
  for _ in $(seq 1 1200); do
    [ -n "$child" ] || child=$(pgrep -P "$rec" -x gilscope || true)
    grep -q "Ctrl-C to stop" "$WORK/frz.err" 2>/dev/null && break
    kill -0 "$rec" 2>/dev/null || break
    sleep 0.05
  done
  if ! kill -STOP "$rec" 2>/dev/null; then
    rc=0; wait "$rec" || rc=$?; rec=
    [ "$rc" = 0 ] || { cat "$WORK/frz.err" >&2; fail "frozen record (try $try): the recorder exited $rc"; }
    echo "note: frozen record try $try: the recorder had ended, not counted" >&2
    continue
  fi
  [ -n "$child" ] || child=$(pgrep -P "$rec" -x gilscope || true)
  [ -n "$child" ] || { cat "$WORK/frz.err" >&2; fail "frozen record (try $try): no child process"; }
  case "$(state "$child")" in
  gone|Z)
    kill -9 "$rec"; wait "$rec" 2>/dev/null || true; rec=
    "$GILSCOPE" report "$WORK/frz-builtin.gst" > /dev/null \
      || fail "frozen record (try $try): the command ended early and incomplete"
    echo "note: frozen record try $try: its command had ended before the freeze, not counted" >&2
    continue ;;
  esac
  sleep 0.5
  kill -9 "$rec"; wait "$rec" 2>/dev/null || true; rec=
  wait_gone_never_stopped "$child" "record frozen then killed (try $try)"
  "$GILSCOPE" report "$WORK/frz-builtin.gst" > /dev/null \
    || fail "record frozen then killed (try $try): the command did not finish"
  held=$((held + 1))
done
[ "$held" -ge 2 ] || fail "frozen record: the command ran at the freeze in $held of $try tries"
echo ok
