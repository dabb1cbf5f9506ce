#!/usr/bin/env bash
# gilscope run SCENARIO -o T --json  ->  gilscope report T --json must agree
# exactly with the runtime's own counters (gil_runtime_stats for the traced
# phase, and per thread the gil_thread_stats fields a trace determines), for
# every scenario and every policy; the text and CSV reports must render.
source "$(dirname "$0")/lib.sh"

compare() { # RUN_JSON REPORT_JSON LABEL
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
run = json.load(open(sys.argv[1])); rep = json.load(open(sys.argv[2]))
label = sys.argv[3]
bad = []
for k in ("acquisitions", "handoffs_attempted", "handoffs_failed",
          "forced_drops", "drop_requests", "switches"):
    if rep["runtime"][k] != run["runtime"][k]:
        bad.append(f"runtime.{k}: run {run['runtime'][k]} report {rep['runtime'][k]}")
threads = {t["tid"]: t for t in rep["threads"]}
for t in run["threads"]:
    r = threads.get(t["tid"])
    if r is None:
        bad.append(f"thread {t['tid']} ({t['name']}) missing from the report")
        continue
    if r["name"] != t["name"]:
        bad.append(f"thread {t['tid']}: name {t['name']!r} vs {r['name']!r}")
    for k in ("acquisitions", "releases_blocking", "releases_interval",
              "releases_forced", "drop_requests"):
        if r["counters"][k] != t[k]:
            bad.append(f"thread {t['tid']}.{k}: run {t[k]} report {r['counters'][k]}")
if rep["partial"] or not rep["trace"]["complete"] or rep["trace"]["lost"]:
    bad.append(f"report partial or lossy (lost {rep['trace']['lost']} events: the recorder ring overflowed?)")
if rep["schema"] != "gilscope-report/1":
    bad.append("schema")
if run["runtime"]["acquisitions"] == 0:
    bad.append("nothing traced")
for b in bad:
    print(f"{label}: {b}", file=sys.stderr)
print(f"ok: {label}: {run['runtime']['acquisitions']} acquisitions, "
      f"{run['runtime']['forced_drops']} forced drops, "
      f"{run['runtime']['handoffs_attempted']} handoffs agree")
sys.exit(1 if bad else 0)
PY
}

n=0
while read -r label args; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  "$GILSCOPE" run $args --json -o "$WORK/t$n.gst" > "$WORK/run$n.json" \
    || fail "$label: gilscope run $args"
  "$GILSCOPE" report --json "$WORK/t$n.gst" > "$WORK/rep$n.json" \
    || fail "$label: gilscope report --json"
  compare "$WORK/run$n.json" "$WORK/rep$n.json" "$label" || fail "$label: counters differ"
  "$GILSCOPE" report "$WORK/t$n.gst" > "$WORK/rep$n.txt" || fail "$label: text report"
  for section in Summary "Per thread" Findings "GIL wait"; do
    grep -q "^$section" "$WORK/rep$n.txt" || fail "$label: text report lacks '$section'"
  done
  "$GILSCOPE" report --csv "$WORK/t$n.gst" > "$WORK/rep$n.csv" || fail "$label: csv"
  rows=$(($(wc -l < "$WORK/rep$n.csv") - 1))
  want=$(json_get "$WORK/rep$n.json" 'len(d["threads"])')
  [ "$rows" = "$want" ] || fail "$label: csv has $rows rows, want $want"
done <<'CASES'
countdown-cpython countdown --policy cpython --threads 2 --units 3000000
countdown-legacy countdown --policy legacy --threads 2 --units 1000000
countdown-fifo countdown --policy fifo --threads 3 --units 3000000
convoy-cpython convoy -d 0.3
convoy-prio convoy --policy prio -d 0.3
priority-cpython priority -d 0.3
io-cpython io -d 0.3
CASES

# The documented schema (docs/report.md): every key is there, with its type.
python3 - "$WORK/rep4.json" <<'PY' || fail "JSON schema"
import json, sys
d = json.load(open(sys.argv[1]))
H = {"count", "sum", "min", "mean", "p50", "p90", "p99", "p999", "max"}
def need(obj, path, keys):
    missing = set(keys) - set(obj)
    if missing:
        sys.exit(f"{path}: missing {sorted(missing)}")
def hist(obj, path):
    need(obj, path, H)
need(d, "", ["schema", "partial", "trace", "window", "runtime", "summary",
             "threads", "findings"])
need(d["trace"], "trace", ["path", "format", "source", "runtime", "pid", "policy",
     "interval_us", "check_ticks", "command", "start_ns", "events", "lost",
     "gaps", "complete", "interrupted", "sched_events", "inferred_events"])
need(d["window"], "window", ["from_ns", "to_ns", "span_ns"])
s = d["summary"]
need(s, "summary", ["gil_load", "held_ns", "contention", "contended_ns",
     "mean_waiters", "max_waiters", "releases", "handoffs", "drop_requests",
     "hold", "wait", "wait_by_why", "io_reacquire_wait", "inversion",
     "wasted_wakeups", "convoy_reference_ns", "convoy_reference_source"])
need(s["releases"], "summary.releases", ["blocking", "interval", "forced", "exit", "unknown"])
need(s["handoffs"], "summary.handoffs", ["attempted", "failed", "failed_ratio",
     "latency", "failed_retake"])
hist(s["handoffs"]["latency"], "summary.handoffs.latency")
need(s["drop_requests"], "summary.drop_requests", ["count", "answered", "latency"])
for k in ("hold", "wait", "io_reacquire_wait"):
    hist(s[k], "summary." + k)
for w in ("first", "after_blocking", "after_forced", "after_interval"):
    hist(s["wait_by_why"][w], "summary.wait_by_why." + w)
for k in ("policy", "sched"):
    need(s["inversion"][k], "summary.inversion." + k, ["count", "total_ns",
         "worst_ns", "worst_waiter_tid", "worst_holder_tid"])
for t in d["threads"]:
    need(t, "threads[]", ["tid", "name", "role", "os_prio", "gil_prio",
         "first_ns", "last_ns", "wall_ns", "acquisitions", "contended",
         "hold_ns", "gil_load", "hold_share_of_wall", "hold", "wait_ns",
         "wait_share_of_wall", "wait", "wait_by_why", "blocked_ns",
         "nogil_ns", "releases", "drop_requests", "handoffs", "io",
         "inversion", "counters"])
    need(t["io"], "threads[].io", ["calls", "reacquire_wait_ns",
         "lost_per_call_ns", "share_of_wall", "behind_cpu", "near_interval",
         "convoy", "reacquire_wait"])
    need(t["handoffs"], "threads[].handoffs", ["given", "failed", "received"])
    for k in ("policy", "sched"):
        need(t["inversion"][k], "threads[].inversion." + k, ["count",
             "waited_ns", "worst_ns", "worst_holder_tid", "caused_ns"])
    for w in ("first", "after_blocking", "after_forced", "after_interval"):
        need(t["wait_by_why"][w], "threads[].wait_by_why." + w, ["ns", "hist"])
for f in d["findings"]:
    need(f, "findings[]", ["kind", "tid", "other_tid", "count", "total_ns",
         "worst_ns", "share", "text"])
    assert f["kind"] in ("convoy", "inversion_policy", "inversion_sched",
                         "gil_battle", "lost_events"), f["kind"]
print("ok: JSON schema gilscope-report/1")
PY

# The echo server's re-acquires after recv/send are seen as I/O calls.
calls=$(json_get "$WORK/rep4.json" \
  'sum(t["io"]["calls"] for t in d["threads"] if t["role"] == "server")')
[ "$calls" -gt 0 ] || fail "convoy: no I/O re-acquires of the echo server"

# Thread filter and window keep the global counters and narrow the rows.
tid=$(json_get "$WORK/rep1.json" 'd["threads"][0]["tid"]')
"$GILSCOPE" report --json -t "$tid" "$WORK/t1.gst" > "$WORK/one.json" || fail "-t TID"
[ "$(json_get "$WORK/one.json" 'len(d["threads"])')" = 1 ] || fail "-t kept other threads"
"$GILSCOPE" report --json -w 0:1ms "$WORK/t1.gst" > "$WORK/win.json" || fail "--window"
json_get "$WORK/win.json" 'd["window"]["span_ns"] <= 1000000 or exit(1)' >/dev/null \
  || fail "window span"
echo ok
