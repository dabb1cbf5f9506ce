#!/bin/bash
# gilscope exporter on CPython 2.7, counted independently: bpftrace on the
# same two processes (a two-thread countdown: releases at the check
# interval; three threads that block: releases around blocking calls)
# counts PyThread_acquire_lock returns and PyThread_release_lock calls on
# interpreter_lock, and PyThreadState_DeleteCurrent calls, per thread. The
# exporter probes ceval.c's call sites instead (record's, never between the
# eval loop's release and its re-take), so the two see the same calls by
# different probes: per thread, acquisitions, releases and exit releases
# must be equal. The programs wait until both tools are attached (2.7 has
# no GIL before its first thread).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd bpftrace nm curl python3
require_btf
py=$(find_python 2.7)
lib=$(readlink -f "$(dirname "$(readlink -f "$py")")/../lib/libpython2.7.so.1.0")
[ -f "$lib" ] || skip "this CPython 2.7 has no libpython2.7.so ($lib)"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT

mkfifo "$WORK/go_cd" "$WORK/go_bl"
"$py" "$PYDIR/gated.py" "$WORK/go_cd" "$PYDIR/countdown.py" 600000 2 > /dev/null & cd=$!; pids+=($cd)
"$py" "$PYDIR/gated.py" "$WORK/go_bl" "$PYDIR/blocking_threads.py" 40 3 > /dev/null & bl=$!; pids+=($bl)

# interpreter_lock's address in each process (its load bias + st_value)
lockvaddr=$(nm "$lib" | awk '$3 == "interpreter_lock" { print $1 }')
[ -n "$lockvaddr" ] || fail "no interpreter_lock in $lib's symbol table"
lockaddr() {
  local base=
  for _ in $(seq 100); do
    base=$(awk -v l="$lib" '$6 == l && $3 == "00000000" { split($1, r, "-"); print r[1]; exit }' \
      "/proc/$1/maps" 2>/dev/null)
    [ -n "$base" ] && break
    sleep 0.05
  done
  [ -n "$base" ] || fail "libpython2.7 not mapped in $1"
  printf '0x%x' $(( 0x$base + 0x$lockvaddr ))
}
lcd=$(lockaddr $cd)
lbl=$(lockaddr $bl)
gil="((pid == $cd && arg0 == *(uint64 *)$lcd) || (pid == $bl && arg0 == *(uint64 *)$lbl))"
bpftrace -e "
BEGIN { printf(\"ready\n\"); }
uprobe:$lib:PyThread_acquire_lock /$gil/ { @want[tid] = 1; }
uretprobe:$lib:PyThread_acquire_lock /@want[tid]/ { @acq[tid] = count(); delete(@want[tid]); }
uprobe:$lib:PyThread_release_lock /$gil/ { @rel[tid] = count(); }
uprobe:$lib:PyThreadState_DeleteCurrent /pid == $cd || pid == $bl/ { @exit[tid] = count(); }
" > "$WORK/bt.out" 2> "$WORK/bt.err" & bt=$!; pids+=($bt)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$GILSCOPE" exporter --listen "127.0.0.1:$port" -p "$cd,$bl" --per-tid --grace 900 -v \
  2> "$WORK/exporter.err" & exporter=$!; pids+=($exporter)
for _ in $(seq 1200); do
  grep -q ready "$WORK/bt.out" && grep -q "tracing PID $cd " "$WORK/exporter.err" &&
    grep -q "tracing PID $bl " "$WORK/exporter.err" && break
  kill -0 $exporter 2>/dev/null || { cat "$WORK/exporter.err" >&2; fail "the exporter died"; }
  sleep 0.05
done
grep -q ready "$WORK/bt.out" || { cat "$WORK/bt.err" >&2; fail "bpftrace did not attach within 60 s"; }
grep -q "tracing PID $cd " "$WORK/exporter.err" && grep -q "tracing PID $bl " "$WORK/exporter.err" \
  || { cat "$WORK/exporter.err" >&2; fail "the exporter did not trace both 2.7 processes within 60 s"; }
# where the exporter's uprobes are: none in PyThread_acquire_lock or
# PyThread_release_lock themselves (the entry of the first sat between the
# eval loop's release and its re-take), all at the call sites
# (bpftool reads every process's descriptors: one closed meanwhile may
# fail a run, so up to three)
for _ in 1 2 3; do bpftool perf show --json > "$WORK/perf.json" 2> "$WORK/perf.err" && break; done
[ -s "$WORK/perf.json" ] || { cat "$WORK/perf.err" >&2; fail "bpftool perf show"; }
nm -D -S --defined-only "$lib" > "$WORK/lib.syms" || fail "nm -D $lib"
readelf -lW "$lib" > "$WORK/lib.phdrs" || fail "readelf -l $lib"
python3 - "$WORK/perf.json" "$exporter" "$lib" "$WORK/lib.syms" "$WORK/lib.phdrs" <<'PY' \
  || fail "the exporter probes inside the lock functions"
import json, os, sys
perf, exporter, lib = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
def file_offset(vaddr):
    for l in open(sys.argv[5]):
        f = l.split()
        if f and f[0] == "LOAD":
            off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= vaddr < va + filesz:
                return vaddr - va + off
    sys.exit("0x%x is in no LOAD segment of %s" % (vaddr, lib))
inside = []
for l in open(sys.argv[4]):
    f = l.split()
    if len(f) == 4 and f[3] in ("PyThread_acquire_lock", "PyThread_release_lock"):
        start = file_offset(int(f[0], 16))
        inside.append((f[3], start, start + int(f[1], 16)))
assert len(inside) == 2, inside
ours = [p for p in perf if p.get("pid") == exporter and p.get("fd_type") in ("uprobe", "uretprobe")
        and os.path.realpath(p.get("filename", "")) == lib]
assert ours, "no uprobe of the exporter in %s" % lib
bad = [(p["offset"], n) for p in ours for n, a, b in inside if a <= p["offset"] < b]
print("the exporter's %d probes in libpython2.7: none inside %s" % (len(ours), [n for n, _, _ in inside]))
assert not bad, bad
PY
for fifo in go_cd go_bl; do
  timeout 60 bash -c 'echo go > "$1"' _ "$WORK/$fifo" || fail "a gated 2.7 program is not reading $fifo"
done
# (each wait bounded: on a hang the test says where and what each
# thread was doing, instead of ctest's timeout at 900 s)
why() { tail -5 "$WORK/exporter.err" >&2; fail "$1"; }
wait_bounded 120 $cd "the 2.7 countdown" || why "the 2.7 countdown failed or did not end in 120 s"
wait_bounded 120 $bl "the 2.7 blocking threads" \
  || why "the 2.7 blocking threads failed or did not end in 120 s"
rc=0; stop_bpftrace $bt "bpftrace" || rc=$?
[ $rc -ne 124 ] || fail "bpftrace did not exit within 60 s of SIGINT"
# every GIL call of both processes happened before they exited: the
# exporter's counters are final (and kept for --grace)
curl -sf "http://127.0.0.1:$port/metrics" > "$WORK/metrics.txt" \
  || { dump_process $exporter "the exporter" >&2; why "GET /metrics failed"; }
kill -TERM $exporter
wait_bounded 60 $exporter "the exporter" || why "the exporter did not exit 0 within 60 s of SIGTERM"

python3 - "$WORK/metrics.txt" "$WORK/bt.out" "$cd" "$bl" <<'PY' || fail "the exporter and bpftrace disagree"
import re, sys
metrics, bt, cd, bl = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
blank = lambda: {"acquired": 0, "release": 0, "exit": 0}
ours, hits, pid_of = {}, {}, {}
for line in open(metrics):
    m = re.match(r'(gilscope_\w+)\{([^}]*)\} (\S+)$', line.strip())
    if not m:
        continue
    name, lab, v = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))
    if name == "gilscope_exporter_probe_hits_total":
        hits[lab["probe"]] = v
    if "tid" not in lab:
        continue
    tid = int(lab["tid"])
    pid_of[tid] = int(lab["pid"])
    d = ours.setdefault(tid, blank())
    if name == "gilscope_gil_acquisitions_total":
        d["acquired"] += int(v)
    elif name == "gilscope_gil_releases_total":
        d["release"] += int(v)
        if lab["reason"] == "exit":
            d["exit"] += int(v)
theirs = {}
key = {"acq": "acquired", "rel": "release", "exit": "exit"}
for m in re.finditer(r"@(acq|rel|exit)\[(\d+)\]: (\d+)", open(bt).read()):
    theirs.setdefault(int(m.group(2)), blank())[key[m.group(1)]] = int(m.group(3))
print("probe hits: %s" % {k: int(v) for k, v in sorted(hits.items()) if v})
for tid in sorted(set(ours) | set(theirs)):
    print("tid %-7d pid %-7s exporter %-48s bpftrace %s" % (
        tid, pid_of.get(tid, "?"), ours.get(tid), theirs.get(tid)))
# main thread + 2 countdown threads, main thread + 3 blocking threads
procs = {p: sum(1 for t in ours if pid_of[t] == p) for p in (cd, bl)}
assert procs == {cd: 3, bl: 4}, ("threads per process", procs)
assert ours == theirs, "per-thread counts differ"
# each worker's last release is its exit (PyThreadState_DeleteCurrent)
assert sum(d["exit"] for d in ours.values()) == 5, "exit releases"
print("the exporter agrees with bpftrace per thread (%d threads)" % len(ours))
PY
echo PASS
