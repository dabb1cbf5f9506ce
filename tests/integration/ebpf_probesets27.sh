#!/bin/bash
# The light probe set's analysis against the full set's on ONE run of
# CPython 2.7 (issue 13: the sets must agree on the failed-handoff share and
# the light set must time nothing from what it infers). Each countdown (2
# and 4 threads) is recorded once with --probes full; `report --as-probes
# light` reads the same trace as the light set would have recorded it (the
# one probe the sets differ by, PyEval_RestoreThread's entry, dropped: each
# blocking_end moved to its thread's next request, the trace marked
# inferred). Run-to-run variation is out of it, so what is asserted is what
# the code guarantees, not what a run usually does:
#  - the handoff figures are identical: attempted, failed, the failed
#    share, every handoff and failed re-take latency, hold and wait
#    histograms, releases by reason, per-thread acquisitions; the light
#    reading says its events are partly inferred, the full one does not;
#  - the only figures that differ are timed from blocking_end: the light
#    reading's re-acquire waits after blocking calls are exactly the waits
#    of its observed requests (wait_by_why.after_blocking), never longer
#    than the full set's (which start at PyEval_RestoreThread's entry);
#  - --as-probes light refuses a trace it cannot apply to.
# The run-to-run comparison (separate light and full runs) is `gilscope
# bench --only probesets` (docs/performance.md, item 11).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
require_btf
py=$(find_python 2.7)

for threads in 2 4; do
  trace="$WORK/full$threads.gst"
  "$GILSCOPE" record --probes full -o "$trace" -- "$py" "$PYDIR/countdown.py" 1000000 "$threads" \
    2> "$WORK/record$threads.err" || { cat "$WORK/record$threads.err" >&2; fail "record --probes full ($threads threads) failed"; }
  "$GILSCOPE" report -q --json -o "$WORK/full$threads.json" "$trace" \
    || fail "$threads threads: report --json"
  "$GILSCOPE" report -q --json --as-probes light -o "$WORK/light$threads.json" "$trace" \
    || fail "$threads threads: report --json --as-probes light"
  "$GILSCOPE" report -q -s --as-probes light "$trace" > "$WORK/light$threads.txt" \
    || fail "$threads threads: report --as-probes light"
  grep -q "^inferred: " "$WORK/light$threads.txt" \
    || fail "$threads threads: the light reading's text report does not say what is inferred"
  python3 - "$WORK/full$threads.json" "$WORK/light$threads.json" "$threads" <<'PY' || fail "$threads threads: the light reading disagrees with the full one on the same run"
import json, sys
full, light = (json.load(open(p)) for p in sys.argv[1:3])
threads = sys.argv[3]
assert full["trace"]["inferred_events"] is False, "full-set trace marked inferred"
assert light["trace"]["inferred_events"] is True, "light reading not marked inferred"
fs, ls = full["summary"], light["summary"]
# everything about who held, who waited and who won: identical
for key in ("releases", "handoffs", "hold", "wait", "drop_requests"):
    assert fs[key] == ls[key], (key, fs[key], ls[key])
for why in ("first", "after_interval", "after_forced", "after_blocking"):
    assert fs["wait_by_why"][why] == ls["wait_by_why"][why], (why, fs["wait_by_why"][why], ls["wait_by_why"][why])
ft = {t["tid"]: t for t in full["threads"]}
lt = {t["tid"]: t for t in light["threads"]}
assert set(ft) == set(lt), (sorted(ft), sorted(lt))
for tid in ft:
    assert ft[tid]["counters"] == lt[tid]["counters"], (tid, ft[tid]["counters"], lt[tid]["counters"])
    assert ft[tid]["io"]["calls"] == lt[tid]["io"]["calls"], (tid, "io calls")
    # timed from blocking_end: later in the light reading, never earlier
    assert lt[tid]["io"]["reacquire_wait_ns"] <= ft[tid]["io"]["reacquire_wait_ns"], (tid, "io wait")
h = fs["handoffs"]
assert h["attempted"] > 0, h
# the countdown blocks (thread start and join): the inferred events exist
io_l, after_b = ls["io_reacquire_wait"], ls["wait_by_why"]["after_blocking"]
assert io_l["count"] > 0, "no blocking call re-acquired: nothing was inferred"
# no latency from an inferred time: the light reading's re-acquire waits
# are its observed requests' waits, one for one
for k in ("count", "sum", "min", "max", "p50", "p90", "p99"):
    assert io_l[k] == after_b[k], ("io_reacquire_wait", k, io_l[k], "after_blocking wait", after_b[k])
assert io_l["sum"] <= fs["io_reacquire_wait"]["sum"], (io_l, fs["io_reacquire_wait"])
print("%s threads: failed handoffs %d of %d (%.1f %%) in both readings; %d re-acquires "
      "after blocking calls: %d ns (full) vs %d ns (light, from the request) in all"
      % (threads, h["failed"], h["attempted"], 100 * h["failed_ratio"], io_l["count"],
         fs["io_reacquire_wait"]["sum"], io_l["sum"]))
PY
done

# what --as-probes light cannot read
"$GILSCOPE" run countdown -o "$WORK/libgil.gst" >/dev/null 2>&1 || fail "gilscope run countdown"
expect_exit 1 "not a \`gilscope record\` trace of a CPython process" \
  "$GILSCOPE" report -q --as-probes light "$WORK/libgil.gst"
expect_exit 2 "expected light" "$GILSCOPE" report -q --as-probes full "$WORK/full2.gst"
# bench item 11 run in parts (--runs-file): earlier repetitions are judged
# with the new ones, each new one is appended, and a bad line is an error
# naming the file and line
runs="$WORK/probesets.runs"
{ echo "# earlier part"
  for t in 2 4; do for s in light full; do
    echo "probesets $t $s 90.5 30000"; echo "probesets $t $s nan nan"
  done; done; } > "$runs"
"$GILSCOPE" bench --quick --only probesets --reps 2 --runs-file "$runs" --json > "$WORK/bench.json" \
  || fail "bench --only probesets --runs-file"
python3 - "$WORK/bench.json" "$runs" <<'PY' || fail "bench --runs-file: the earlier repetitions were not judged with the new ones"
import json, sys
rows = {r["subject"]: r for it in json.load(open(sys.argv[1]))["items"] for r in it["rows"]}
assert set(rows) == {"light x2", "full x2", "light x4", "full x4"}, sorted(rows)
for name, r in rows.items():
    # 2 earlier (one failed: a NaN, kept in runs, not in reps) + 2 new
    assert len(r["runs"]) == 4 and r["runs"][0] == 90.5 and r["runs"][1] is None, (name, r["runs"])
    assert r["reps"] == 3, (name, r["reps"])
lines = [l.split() for l in open(sys.argv[2]) if l.startswith("probesets ")]
assert len(lines) == 16, len(lines)
for l in lines[8:]:
    assert l[1] in ("2", "4") and l[2] in ("light", "full") and 0 <= float(l[3]) <= 100 and float(l[4]) > 0, l
PY
echo "probesets 3 light 1 1" >> "$runs"
expect_exit 1 "probesets.runs:18: not a repetition line" \
  "$GILSCOPE" bench --only probesets --reps 2 --runs-file "$runs"
echo "PASS: the light reading of a full-set trace agrees with it on every handoff figure; bench --runs-file judges all parts"
