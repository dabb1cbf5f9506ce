#!/bin/bash
# gilscope record -a --cgroup: one trace per GIL process of a cgroup (a
# container stand-in made here), for a process running before the recording
# (CPython 3.12) and one started during it (CPython 2.7); a CPython outside
# the cgroup is left alone. Each trace is a complete `record -p` trace that
# gilscope report reads, with the right interpreter and GIL activity.
. "$(dirname "$0")/lib.sh"
require_root
require_btf
py312=$(find_python 3.12)
py311=$(find_python 3.11)
py27=$(find_python 2.7)
# the cgroup v2 hierarchy: mounted at /sys/fs/cgroup on a unified host;
# on a hybrid one (v1 controllers) it may be mounted nowhere: mount it here
CG2=$(awk '$(NF-2) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
MOUNTED=""
if [ -z "$CG2" ]; then
  mkdir -p "$WORK/cg2"
  mount -t cgroup2 none "$WORK/cg2" || skip "cannot mount cgroup2"
  CG2="$WORK/cg2"
  MOUNTED=1
fi
NAME="gilscope-record-all-$$"
CG="$CG2/$NAME"
mkdir "$CG"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rmdir "$CG" 2>/dev/null || true
  [ -z "$MOUNTED" ] || umount "$CG2" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
in_cg() { exec sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }

# Each in-cgroup process counts only once its recorder says it is recording
# it (attached): on a loaded machine attaching takes seconds, and a process
# that exited first would not be recorded at all (record -a skips it).
cat > "$WORK/after_go.py" <<'PY'
import os, sys, time
go = "%s/go.%d" % (sys.argv[1], os.getpid())
while not os.path.exists(go):
    time.sleep(0.02)
sys.argv = sys.argv[2:]
exec(compile(open(sys.argv[0]).read(), sys.argv[0], "exec"), {"__name__": "__main__"})
PY
# the workloads wait for go.PID; the one outside the cgroup never gets it
# (alive throughout, so record -a sees it and must leave it out)
in_cg "$py312" "$WORK/after_go.py" "$WORK" "$PYDIR/countdown.py" 6000000 2 & before=$!; pids+=($before)
"$py311" "$WORK/after_go.py" "$WORK" "$PYDIR/countdown.py" 6000000 2 & outside=$!; pids+=($outside)
# "before" means running CPython when record -a starts, not just forked
py312_exe=$(readlink -f "$py312")
for _ in $(seq 1200); do
  [ "$(readlink -f /proc/$before/exe 2>/dev/null)" = "$py312_exe" ] && break
  kill -0 $before 2>/dev/null || fail "CPython 3.12 in the cgroup did not start"
  sleep 0.1
done
# -d is only a backstop: the test stops record -a itself (below)
"$GILSCOPE" record -a --cgroup "/$NAME" -o "$WORK/traces" -d 600 --no-sched \
  > "$WORK/rec.out" 2> "$WORK/rec.err" & rec=$!
pids+=($rec)
# started during the recording: once record -a has found the first one
for _ in $(seq 1200); do
  grep -q "record -a: recording PID $before " "$WORK/rec.err" && break
  kill -0 $rec 2>/dev/null || { cat "$WORK/rec.err" >&2; fail "record -a ended early"; }
  sleep 0.1
done
grep -q "record -a: recording PID $before " "$WORK/rec.err" ||
  { cat "$WORK/rec.err" >&2; fail "record -a did not find PID $before in 120 s"; }
in_cg "$py27" "$WORK/after_go.py" "$WORK" "$PYDIR/countdown.py" 3000000 2 & later=$!; pids+=($later)
for _ in $(seq 2400); do
  for p in $before $later; do
    [ -e "$WORK/go.$p" ] || ! grep -q "recording cpython-[0-9.]* (PID $p)" "$WORK/rec.err" ||
      touch "$WORK/go.$p"
  done
  [ -e "$WORK/go.$before" ] && [ -e "$WORK/go.$later" ] && break
  kill -0 $rec 2>/dev/null || break
  sleep 0.05
done
[ -e "$WORK/go.$before" ] && [ -e "$WORK/go.$later" ] ||
  { cat "$WORK/rec.err" >&2; fail "the recorders of PIDs $before and $later did not both attach in 120 s"; }
# both workloads run to their end under their recorders (each recorder
# stops when its process exits), then record -a is stopped
for p in $before $later; do
  wait_bounded 300 $p "workload" || fail "PID $p did not finish in 300 s"
done
kill -INT $rec
wait_bounded 300 $rec "record -a after SIGINT" || { cat "$WORK/rec.err" >&2; fail "record -a failed"; }
cat "$WORK/rec.err"
ls "$WORK/traces"
for p in $before $later; do
  t=$(ls "$WORK/traces/$p-"*.gst 2>/dev/null | head -1)
  [ -n "$t" ] || fail "no trace for PID $p"
  "$GILSCOPE" report --json -q "$t" > "$WORK/$p.json" || fail "report on $t failed"
done
ls "$WORK/traces/$outside-"*.gst > /dev/null 2>&1 && fail "PID $outside (outside the cgroup) was recorded"
python3 - "$WORK" "$before" "$later" <<'PY' || fail "wrong traces"
import json, sys
w, before, later = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for pid, policy in ((before, "cpython-3.12"), (later, "cpython-2.7")):
    d = json.load(open("%s/%d.json" % (w, pid)))
    per_thread = [t["acquisitions"] for t in d["threads"]]
    print("PID %d: %s, %d threads, acquisitions %s, %d lost" % (
        pid, d["trace"]["policy"], len(d["threads"]), per_thread, d["trace"]["lost"]))
    if d["trace"]["pid"] != pid or d["trace"]["policy"] != policy:
        sys.exit("PID %d: trace of %s %s" % (pid, d["trace"]["pid"], d["trace"]["policy"]))
    # the whole run after go was recorded: the main thread took the GIL
    # back from its last sleep, and each worker took it to count down
    if sum(a >= 1 for a in per_thread) < 3:
        sys.exit("PID %d: want main + 2 workers each taking the GIL, got %s" % (pid, per_thread))
PY
echo PASS
