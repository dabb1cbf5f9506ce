#!/bin/bash
# gilscope record on unmodified CPython 2.7: probes at ceval.c's calls of
# PyThread_release_lock / PyThread_acquire_lock, kept only for the lock
# interpreter_lock points to. Two CPU-bound threads: every 100 ticks the
# holder releases and at once re-acquires; whether it or the woken waiter
# wins is the scheduler's doing, so the share is printed, not asserted.
# What is asserted:
#  - no probe sits where the releaser runs between its release and its
#    re-take (inside PyThread_release_lock / PyThread_acquire_lock, or in
#    PyEval_EvalFrameEx between the two calls, or in another object such as
#    libc): checked against objdump's disassembly of the library, not
#    against gilscope's own locator; the release call itself and the first
#    instruction after the re-take are probed;
#  - both sets see every release where it happens (none inferred, none of
#    unknown reason), the counts balance, and they differ only by
#    PyEval_RestoreThread: their GIL probe hits per acquisition are about
#    the same (not their estimated cost: record measures the per-hit cost
#    while it runs, which moves with the machine's load between two runs).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
require_btf
py=$(find_python 2.7)

run() {
  local set=$1
  "$GILSCOPE" record --probes "$set" -o "$WORK/$set.gst" -- "$py" "$PYDIR/countdown.py" 3000000 2 \
    2> "$WORK/$set.err" || { cat "$WORK/$set.err" >&2; fail "record --probes $set failed"; }
  python3 "$PYDIR/gstrace.py" "$WORK/$set.gst" > "$WORK/$set.json"
  # the analysis replays the GIL state machine: inferred releases must
  # leave one holder at a time, in every thread's order
  if "$GILSCOPE" report --help >/dev/null 2>&1; then
    "$GILSCOPE" report -s -q "$WORK/$set.gst" > "$WORK/$set.report" 2>&1 \
      || { cat "$WORK/$set.report" >&2; fail "$set: gilscope report rejects the trace"; }
  fi
  sed -n 's/.*estimated probe cost \([0-9.]*\) ms = .*/\1/p' "$WORK/$set.err" > "$WORK/$set.cost"
  [ -s "$WORK/$set.cost" ] || fail "$set: no overhead estimate printed"
  sed -n 's/.*; \([0-9]*\) GIL probe hits, .*/\1/p' "$WORK/$set.err" > "$WORK/$set.hits"
  [ -s "$WORK/$set.hits" ] || fail "$set: no probe hit count printed"
}
run light
run full

# Where the probes are, against objdump's reading of the library
lib=$(readlink -f "$(dirname "$(readlink -f "$py")")/../lib/libpython2.7.so.1.0")
objdump -d --no-show-raw-insn --disassemble=PyEval_EvalFrameEx "$lib" > "$WORK/evalframe.dis" \
  || fail "objdump cannot disassemble PyEval_EvalFrameEx in $lib"
nm -D -S --defined-only "$lib" > "$WORK/lib.syms" || fail "nm -D $lib"
for set in light full; do
  "$GILSCOPE" report --json "$WORK/$set.gst" > "$WORK/$set.report.json" || fail "$set: report --json"
  python3 - "$WORK/$set.report.json" "$WORK/evalframe.dis" "$WORK/lib.syms" "$lib" "$set" <<'PY' || fail "$set: a probe sits between the release and the re-take"
import json, re, sys
rep, dis, syms, lib, name = sys.argv[1:6]
probes = json.load(open(rep))["trace"]["probes"]
calls = []  # (address, callee) of PyEval_EvalFrameEx's calls, in order
for line in open(dis):
    m = re.match(r"\s*([0-9a-f]+):\s+call\s+[0-9a-f]+ <([^>@+]+)", line)
    if m:
        calls.append((int(m.group(1), 16), m.group(2)))
rel = [i for i, c in enumerate(calls) if c[1] == "PyThread_release_lock"]
assert len(rel) == 1 and calls[rel[0] + 1][1] == "PyThread_acquire_lock", calls
rel_at, acq_at = calls[rel[0]][0], calls[rel[0] + 1][0]
ranges = {}
for line in open(syms):
    f = line.split()
    if len(f) == 4 and f[3] in ("PyThread_release_lock", "PyThread_acquire_lock"):
        ranges[f[3]] = (int(f[0], 16), int(f[0], 16) + int(f[1], 16))
assert len(ranges) == 2, ranges
addrs = [p["vaddr"] for p in probes]
for p in probes:
    assert p["object"].endswith("libpython2.7.so.1.0"), ("probe outside libpython", p)
    a = p["vaddr"]
    assert not rel_at < a <= acq_at, ("probe between the release and the re-take", p, hex(rel_at), hex(acq_at))
    for fn, (lo, hi) in ranges.items():
        assert not lo <= a < hi, ("probe inside %s" % fn, p)
assert rel_at in addrs, "the check interval's release call is not probed"
after = [a for a in addrs if acq_at < a < acq_at + 32]
assert after, "no probe right after the re-take"
print("%s: %d probes, none between the release at 0x%x and the re-take at 0x%x (held from 0x%x)"
      % (name, len(probes), rel_at, acq_at, after[0]))
PY
done

python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
hits_per_acq = {}
for s in ("light", "full"):
    d = json.load(open("%s/%s.json" % (w, s)))
    h, c = d["header"], d["counts"]
    def check(cond, what):
        if not cond:
            sys.exit("FAIL %s: %s\n%s" % (s, what, json.dumps(d, indent=1)))
    check(h["runtime"] == 2 and h["policy"] == "cpython-2.7", "header runtime/policy")
    check(d["end"]["total_lost"] == 0, "lost events")
    check(c.get("acquired", 0) > 1000, "too few acquisitions: %r" % c)
    check(abs(c.get("release", 0) - c.get("acquired", 0)) <= 3, "unbalanced counts %r" % c)
    check(d["handoffs"] >= 500, "too few handoffs with a waiter")
    # who wins a handoff is the scheduler's (and the probes') doing: the
    # share moved from 42 % to 99.9 % between runs (observer-effect.md);
    # only that it is a share is asserted
    check(0 <= d["failed_handoffs"] <= d["handoffs"], "failed handoffs out of range")
    share = float(d["failed_handoffs"]) / d["handoffs"]
    check("unknown" not in d["hold_by_reason"],
          "a release of unknown reason: releases are observed, not inferred")
    interval = d["hold_by_reason"].get("interval", {})
    check(interval.get("n", 0) > 1000, "releases at the periodic check missing")
    cost = float(open("%s/%s.cost" % (w, s)).read()) * 1000.0 / c["acquired"]
    hits = float(open("%s/%s.hits" % (w, s)).read()) / c["acquired"]
    print("%s: %d handoffs, releaser re-took %.2f%%, hold p50 %.2f us, "
          "%.3f GIL probe hits and estimated probe cost %.2f us per acquisition"
          % (s, d["handoffs"], 100 * share, d["hold_p50_us"], hits, cost))
    hits_per_acq[s] = hits
if not 0.75 <= hits_per_acq["full"] / hits_per_acq["light"] <= 1.33:
    sys.exit("FAIL: the probe sets differ only by PyEval_RestoreThread, but their "
             "GIL probe hits per acquisition are %.3f (full) and %.3f (light)"
             % (hits_per_acq["full"], hits_per_acq["light"]))
PY
# Independent count on the same process: bpftrace on PyThread_acquire_lock
# (entry: the lock is interpreter_lock's value; return) and
# PyThread_release_lock, against gilscope record -p attached beside it.
# The program waits (no GIL yet: 2.7 creates it with the first thread)
# until both are attached; then every thread's acquisitions and releases
# must be equal.
require_cmd bpftrace nm
cat > "$WORK/go.py" <<'PY'
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
sys.argv = sys.argv[2:]
execfile(sys.argv[0])
PY
rm -f "$WORK/go"
"$py" "$WORK/go.py" "$WORK/go" "$PYDIR/blocking_threads.py" 40 3 & target=$!
base=
for _ in $(seq 100); do
  base=$(awk -v l="$lib" '$6 == l && $3 == "00000000" { split($1, r, "-"); print r[1]; exit }' "/proc/$target/maps" 2>/dev/null)
  [ -n "$base" ] && break
  sleep 0.05
done
[ -n "$base" ] || { kill "$target"; fail "libpython2.7 not mapped in $target"; }
lockvaddr=$(nm "$lib" | awk '$3 == "interpreter_lock" { print $1 }')
lockaddr=$(printf '0x%x' $(( 0x$base + 0x$lockvaddr )))
bpftrace -e "
BEGIN { printf(\"ready\n\"); }
uprobe:$lib:PyThread_acquire_lock /pid == $target && arg0 == *(uint64 *)$lockaddr/ { @want[tid] = 1; }
uretprobe:$lib:PyThread_acquire_lock /pid == $target && @want[tid]/ { @acq[tid] = count(); delete(@want[tid]); }
uprobe:$lib:PyThread_release_lock /pid == $target && arg0 == *(uint64 *)$lockaddr/ { @rel[tid] = count(); }
" > "$WORK/bt.out" 2> "$WORK/bt.err" & bt=$!
"$GILSCOPE" record -p "$target" -o "$WORK/p.gst" 2> "$WORK/p.err" & rec=$!
for _ in $(seq 300); do
  grep -q ready "$WORK/bt.out" && grep -q "Ctrl-C to stop" "$WORK/p.err" && break
  sleep 0.05
done
grep -q ready "$WORK/bt.out" && grep -q "Ctrl-C to stop" "$WORK/p.err" \
  || { touch "$WORK/go"; kill "$bt" "$rec" 2>/dev/null; cat "$WORK/bt.err" "$WORK/p.err" >&2
       fail "bpftrace or record -p did not attach within 15 s"; }
touch "$WORK/go"
# bounded: a hang fails here saying which process and where it sleeps,
# not at ctest's 900 s with nothing (lib.sh, wait_bounded)
wait_bounded 120 "$target" "the 2.7 program" || fail "the 2.7 program failed or did not end in 120 s"
wait_bounded 60 "$rec" "record -p after its target's end" \
  || { cat "$WORK/p.err" >&2; fail "record -p failed or did not end within 60 s of its target"; }
stop_bpftrace "$bt" "bpftrace" || true
grep -q ready "$WORK/bt.out" || { cat "$WORK/bt.err" >&2; fail "bpftrace did not attach"; }
PYDIR="$PYDIR" python3 - "$WORK/p.gst" "$WORK/bt.out" <<'PY' || fail "record and bpftrace disagree"
import os, re, sys
sys.path.insert(0, os.environ["PYDIR"])
import gstrace
hdr, threads, recs, end = gstrace.read(sys.argv[1])
ours = {}
for r in recs:
    name = gstrace.NAMES.get(r[3])
    if name in ("acquired", "release"):
        ours.setdefault(r[1], {"acquired": 0, "release": 0})[name] += 1
theirs = {}
for m in re.finditer(r"@(acq|rel)\[(\d+)\]: (\d+)", open(sys.argv[2]).read()):
    theirs.setdefault(int(m.group(2)), {"acquired": 0, "release": 0})[
        "acquired" if m.group(1) == "acq" else "release"] = int(m.group(3))
assert end and end["total_lost"] == 0, end
assert len(theirs) >= 4, theirs   # the main thread and 3 workers
assert ours == theirs, ("gilscope", ours, "bpftrace", theirs)
print("bpftrace agrees per thread: %s" % sorted(theirs.items()))
PY
# A 1 MiB ring buffer at 2.7's event rate may overflow: whatever was
# dropped must be accounted for, as `lost` markers in the threads' streams
# and in the END block, and the trace must stay readable.
"$GILSCOPE" record -b 1 --no-sched -o "$WORK/small.gst" -- "$py" "$PYDIR/countdown.py" 3000000 2 \
  2> "$WORK/small.err" || { cat "$WORK/small.err" >&2; fail "record -b 1 failed"; }
PYDIR="$PYDIR" python3 - "$WORK/small.gst" <<'PY'
import os, sys
sys.path.insert(0, os.environ["PYDIR"])
import gstrace
hdr, threads, recs, end = gstrace.read(sys.argv[1])
markers = sum(r[5] for r in recs if r[3] == 15)
if end is None or markers > end["total_lost"]:
    sys.exit("FAIL: lost markers %d, END lost %r" % (markers, end))
print("1 MiB ring: %d records, %d lost (%d in markers)" % (len(recs), end["total_lost"], markers))
PY
echo PASS
