#!/bin/bash
# gilscope exporter scraped by a real Prometheus (started here on 127.0.0.1
# with a generated config, a temporary TSDB and a 1 s scrape interval) while
# real workloads run: an echo server beside a CPU thread (CPython 3.11), a
# two-thread countdown on CPython 3.12 and on 2.7, and a libgil program
# (gilscope run countdown). Each workload is also recorded by
# `gilscope record` at the same time; the PromQL results must agree with
# `gilscope report` on those traces within 5 %. Sleepers of each CPython
# start before the exporter (found by the /proc scan); the workloads start
# after it (found at their exec). Then: promtool check metrics on the page,
# promtool check rules on the shipped rules (loaded into this Prometheus
# too), the OpenMetrics page, and kill -9: no BPF program of the dead
# exporter may remain.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd prometheus promtool curl bpftool
require_btf
RULES="$GILSCOPE_SRC/docs/prometheus/gilscope-rules.yml"
py311=$(find_python 3.11)
py312=$(find_python 3.12)
py27=$(find_python 2.7)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
EPORT=$(free_port)
PPORT=$(free_port)
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  keep_or_remove_work "$rc"
}
trap cleanup EXIT

# Sleepers: their interpreters' files get probed at the exporter's start.
for py in "$py311" "$py312" "$py27"; do
  "$py" -c 'import time; time.sleep(120)' & pids+=($!)
done
sleepers=("${pids[@]}")

# (--grace 900, the test's timeout: every workload's series is still on the
# page when the checks read it, however long a loaded machine took; -v -v:
# exec notices and failed looks too, for the diagnostic of a workload with
# no series)
"$GILSCOPE" exporter --listen "127.0.0.1:$EPORT" --grace 900 -v -v \
  > "$WORK/exporter.out" 2> "$WORK/exporter.err" &
EXPORTER=$!
pids+=($EXPORTER)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$EPORT/metrics" > /dev/null 2>&1 && break
  kill -0 $EXPORTER 2>/dev/null || { cat "$WORK/exporter.err" >&2; fail "exporter died"; }
  sleep 0.1
done
for p in "${sleepers[@]}"; do
  grep -q "tracing PID $p " "$WORK/exporter.err" \
    || { cat "$WORK/exporter.err" >&2; fail "the /proc scan did not find sleeper $p"; }
done

cat > "$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$RULES"]
scrape_configs:
  - job_name: gilscope
    static_configs:
      - targets: ["127.0.0.1:$EPORT"]
EOF
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PPORT" --log.level=warn \
  > "$WORK/prometheus.log" 2>&1 &
pids+=($!)
PROM=$!
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$PPORT/-/ready" > /dev/null 2>&1 && break
  kill -0 $PROM 2>/dev/null || { cat "$WORK/prometheus.log" >&2; fail "prometheus died"; }
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PPORT/-/ready" > /dev/null || fail "prometheus not ready"
# ready is not scraping yet: wait for the first scrape of the exporter
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode 'query=up{job="gilscope"} == 1' \
    | grep '"value"' > /dev/null && break
  sleep 0.2
done

# The workloads, each recorded at the same time, started after the exporter.
"$GILSCOPE" record -o "$WORK/echo.gst" -- "$py311" "$GILSCOPE_SRC/docs/examples/echo_service.py" 4 1 \
  > "$WORK/echo.out" 2> "$WORK/echo.err" & w1=$!
"$GILSCOPE" record -o "$WORK/cd312.gst" -- "$py312" "$PYDIR/countdown.py" 20000000 2 \
  > /dev/null 2> "$WORK/cd312.err" & w2=$!
"$GILSCOPE" record -o "$WORK/cd27.gst" -- "$py27" "$PYDIR/countdown.py" 1500000 2 \
  > /dev/null 2> "$WORK/cd27.err" & w3=$!
"$GILSCOPE" record -o "$WORK/libgil.gst" -- "$GILSCOPE" run countdown --threads 2 --units 4000000 \
  > /dev/null 2> "$WORK/libgil.err" & w4=$!
# libgil's prio policy lends priorities (gil:prio_boost): inversion time;
# started once the gilscope binary has its probes, so that its threads'
# gil:thread_start names are seen
sleep 1
"$GILSCOPE" run priority -P prio > "$WORK/prio.out" 2>&1 & w5=$!
for w in $w1 $w2 $w3 $w4 $w5; do
  rc=0; wait $w || rc=$?
  [ "$rc" = 0 ] || { cat "$WORK"/*.err "$WORK/prio.out" >&2; fail "a workload failed (pid $w, exit $rc)"; }
done
for t in echo cd312 cd27 libgil; do
  "$GILSCOPE" report --json -q "$WORK/$t.gst" > "$WORK/$t.json" || fail "report $t failed"
done
# The exporter keeps exited processes' series (--grace): wait until
# Prometheus has scraped the exporter successfully after the last workload
# ended and has evaluated every rule group after that scrape (a fixed sleep
# fell short when a loaded machine delayed scrapes; a scrape can also time
# out, up = 0, which makes every series stale until the next). The checks
# below read the counters as of that scrape ($WORK/final_scrape).
ended=$(date +%s.%N)
python3 - "$PPORT" "$ended" "$WORK/final_scrape" <<'PY' || fail "Prometheus did not scrape the exporter and evaluate its rules after the workloads ended"
import datetime, json, sys, time, urllib.parse, urllib.request
port, ended, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def get(path, **query):
    url = "http://127.0.0.1:%s%s?%s" % (port, path, urllib.parse.urlencode(query))
    return json.load(urllib.request.urlopen(url))["data"]
def epoch(rfc3339):  # 2026-12-06T07:40:01.123456789Z (Python 3.11+ reads it)
    return datetime.datetime.fromisoformat(rfc3339).timestamp()
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    # (the sample's own time: timestamp() of a selector; "and" keeps it
    # only when that scrape succeeded. timestamp() of "up == 1" would be
    # the query's time.)
    r = get("/api/v1/query", query='timestamp(up{job="gilscope"}) and on() (up{job="gilscope"} == 1)')["result"]
    scraped = float(r[0]["value"][1]) if r else 0.0
    groups = get("/api/v1/rules")["groups"]
    if scraped > ended and groups and all(
            epoch(g["lastEvaluation"]) > scraped for g in groups):
        print("scraped %.1f s after the workloads ended, rules evaluated after it"
              % (scraped - ended))
        open(out, "w").write(repr(scraped))
        sys.exit(0)
    time.sleep(0.2)
for t in get("/api/v1/targets")["activeTargets"]:
    print("target %s: health %s, last scrape %s (%.3f s), error %r" % (
        t["scrapeUrl"], t["health"], t["lastScrape"], t["lastScrapeDuration"], t["lastError"]))
print("last successful scrape %.1f s after the workloads ended; rule groups last evaluated %r"
      % (scraped - ended, [g["lastEvaluation"] for g in groups]))
sys.exit(1)
PY

curl -sf "http://127.0.0.1:$EPORT/metrics" > "$WORK/metrics.txt" || fail "GET /metrics failed"
# --grace 900 outlasts the test: no process may have left the page yet
# (a refresh stamped a process it found gone later than its own clock
# read, and the unsigned age wrapped: removed at once, under load)
grep -qx 'gilscope_exporter_processes_removed_total 0' "$WORK/metrics.txt" \
  || fail "processes removed within --grace: $(grep '^gilscope_exporter_processes_removed_total' "$WORK/metrics.txt")"
promtool check metrics < "$WORK/metrics.txt" || fail "promtool check metrics"
promtool check rules "$RULES" || fail "promtool check rules"
curl -sf -D "$WORK/om.headers" -H 'Accept: application/openmetrics-text; version=1.0.0' \
  "http://127.0.0.1:$EPORT/metrics" > "$WORK/metrics.om" || fail "GET /metrics (OpenMetrics)"
grep -qi '^content-type: application/openmetrics-text' "$WORK/om.headers" \
  || fail "no OpenMetrics content type"
[ "$(tail -n 1 "$WORK/metrics.om")" = "# EOF" ] || fail "OpenMetrics page does not end with # EOF"
grep -q '^# TYPE gilscope_gil_handoffs counter$' "$WORK/metrics.om" || fail "OpenMetrics counter family"
grep -q '^# UNIT gilscope_gil_convoy_loss_seconds seconds$' "$WORK/metrics.om" || fail "OpenMetrics unit"

python3 - "$WORK" "$PPORT" "$GILSCOPE_SRC/docs/grafana/gilscope-dashboard.json" <<'PY' \
  || fail "Prometheus and gilscope report disagree (or a dashboard query failed)"
import json, sys, urllib.parse, urllib.request
work, port = sys.argv[1], sys.argv[2]
final = open(work + "/final_scrape").read()

def q(expr, at=None):
    query = {"query": expr}
    if at:
        query["time"] = at
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (port, urllib.parse.urlencode(query))
    d = json.load(urllib.request.urlopen(url))
    assert d["status"] == "success", d
    return d["data"]["result"]

def scalar(expr, at=final):
    r = q(expr, at)
    return float(r[0]["value"][1]) if r else None

errors = []
def agree(what, prom, report, floor):
    ok = prom is not None and abs(prom - report) <= max(0.05 * abs(report), floor)
    print("%-48s prometheus %-14s report %-14s %s" % (what, "%.6g" % prom if prom is not None else "none",
                                                     "%.6g" % report, "ok" if ok else "DISAGREE"))
    if not ok:
        errors.append(what)

if scalar('up{job="gilscope"}') != 1:
    sys.exit("the gilscope target is not up")
om = scalar('max(gilscope_exporter_scrapes_total{format="openmetrics"})')
print("scrapes in OpenMetrics: %s" % om)
if not om:
    errors.append("Prometheus did not scrape OpenMetrics")

# The counters as Prometheus scraped them after the workloads ended (see
# above; exited processes' series stay for --grace): instant vectors then.
# Not the sum of each series' max over the run: a thread's series before it
# renamed itself (thread="python") went stale with what it had counted then,
# and summing it too counted its first wait twice (0.18 s too much for the
# echo process once its threads waited long to start, at load 15-20).
for t in ("echo", "cd312", "cd27", "libgil"):
    rep = json.load(open("%s/%s.json" % (work, t)))
    pid = rep["trace"]["pid"]
    sel = 'pid="%d"' % pid
    acq = sum(th["acquisitions"] for th in rep["threads"])
    wait = sum(th["wait_ns"] for th in rep["threads"]) / 1e9
    prom_acq = scalar('sum(gilscope_gil_acquisitions_total{%s})' % sel)
    if prom_acq is None:
        # which of the exporter, its page or Prometheus lost the process
        said = [l.rstrip() for l in open(work + "/exporter.err") if "PID %d " % pid in l]
        page = sum(1 for l in open(work + "/metrics.txt") if 'pid="%d"' % pid in l)
        said += [l.rstrip() for l in open(work + "/metrics.txt")
                 if l.startswith(("gilscope_exporter_lost_events_total",
                                  "gilscope_exporter_unlisted_exits_total",
                                  "gilscope_exporter_series ",
                                  "gilscope_exporter_folded_groups "))]
        ever = q('max_over_time(gilscope_gil_acquisitions_total{%s}[15m])' % sel)
        print("%s pid %d: exporter said %r; %d series on the page after the run; "
              "Prometheus ever had %d" % (t, pid, said, page, len(ever)))
    agree("%s pid %d acquisitions" % (t, pid), prom_acq, acq, 3)
    # 2.7: both tools read a re-take's request time in the release's
    # probe, after their own release work, and where both probe a site,
    # one's program runs before the other's clock read: one wait's start
    # and end differ by a few BPF programs' run time between the two
    # (measured: 0.10-0.16 us per acquisition, the exporter's the shorter);
    # 1 us per acquisition bounds that
    floor = max(0.002, acq * 1e-6) if t == "cd27" else 0.002
    agree("%s pid %d wait seconds" % (t, pid),
          scalar('sum(gilscope_gil_wait_seconds_total{%s})' % sel), wait, floor)
    if t == "echo":
        # the trace names threads as they were when first seen (before
        # echo_service.py renamed them): the server is the thread other
        # than the main one with the most blocking releases; the
        # exporter's series follow the rename
        s = max((th for th in rep["threads"] if th["tid"] != pid),
                key=lambda th: th["releases"]["blocking"])
        ssel = sel + ',thread="server"'
        agree("echo server thread: wait after blocking (s)",
              scalar('sum(gilscope_gil_wait_seconds_total{%s,why="after_blocking"})' % ssel),
              s["wait_by_why"]["after_blocking"]["ns"] / 1e9, 0.002)
        agree("echo server thread: acquisitions",
              scalar('sum(gilscope_gil_acquisitions_total{%s})' % ssel),
              s["acquisitions"], 3)
        agree("echo server thread: hold seconds",
              scalar('sum(gilscope_gil_hold_seconds_total{%s})' % ssel),
              s["hold_ns"] / 1e9, 0.002)
        agree("echo server thread: failed handoffs",
              scalar('sum(gilscope_gil_handoffs_failed_total{%s})' % ssel),
              s["handoffs"]["failed"], 3)
        # the recording rules ran on this data
        r = q('gilscope_thread:gil_reacquire_after_io_share:rate1m{%s}' % ssel)
        r = r or q('max_over_time(gilscope_thread:gil_reacquire_after_io_share:rate1m{%s}[10m])' % ssel)
        print("recording rule: server thread re-acquire share %s" % (r[0]["value"][1] if r else "none"))
        if not r:
            rules = json.load(urllib.request.urlopen("http://127.0.0.1:%s/api/v1/rules" % port))
            for g in rules["data"]["groups"]:
                for r_ in g["rules"]:
                    print(r_.get("name"), r_.get("health"), r_.get("lastError"), r_.get("lastEvaluation"))
            errors.append("recording rule gilscope_thread:gil_reacquire_after_io_share:rate1m has no series")
        p99 = q('max_over_time(gilscope_process:gil_wait_seconds:p99_1m{%s}[10m])' % sel)
        print("recording rule: p99 wait of the echo process %s s" % (p99[0]["value"][1] if p99 else "none"))
        if not p99:
            errors.append("recording rule gilscope_process:gil_wait_seconds:p99_1m has no series")
# every query of the shipped Grafana dashboard parses and runs here
dash = json.load(open(sys.argv[3]))
for panel in dash["panels"]:
    for t in panel["targets"]:
        expr = t["expr"].replace("$__rate_interval", "1m")
        for v in ("$instance", "$comm", "$pid"):
            expr = expr.replace(v, ".*")
        try:
            q(expr)
        except Exception as e:
            errors.append("dashboard panel %r: %s" % (panel["title"], e))
inv = q('max_over_time(gilscope_gil_inversion_seconds_total{comm="gilscope",thread=~"cpu-.*"}[10m])')
names = {r["metric"]["thread"] for r in q('max_over_time(gilscope_gil_acquisitions_total{comm="gilscope"}[10m])')}
print("libgil prio: inversion seconds by thread %s; thread names %s" % (
    [(r["metric"]["pid"], r["metric"]["thread"], r["value"][1]) for r in inv], sorted(names)))
if "high-prio" not in names:
    errors.append("libgil thread names (gil:thread_start) missing")
if not any(float(r["value"][1]) > 0 for r in inv):
    errors.append("no inversion time for libgil's prio policy")
if errors:
    sys.exit("disagree: %s" % ", ".join(errors))
PY

# kill -9: the kernel drops the exporter's links and programs with its fds.
# its programs, from the prog_id of its BPF fds (programs and links)
# (a file of a descriptor it closes meanwhile makes cat fail: not an error)
progs=$({ cat /proc/$EXPORTER/fdinfo/* 2>/dev/null || true; } | awk '$1 == "prog_id:" { print $2 }' | sort -u)
[ -n "$progs" ] || fail "no BPF program owned by the exporter found"
kill -9 $EXPORTER
wait $EXPORTER 2>/dev/null || true
left=""
for _ in $(seq 50); do
  left=""
  for id in $progs; do
    bpftool prog show id "$id" > /dev/null 2>&1 && left="$left $id"
  done
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "BPF programs of the killed exporter still loaded:$left"
echo "kill -9: the exporter's $(echo $progs | wc -w) BPF programs are gone"

# The next start after the kill: a process's series stay while it runs and
# go once it has exited, after --grace. The process runs until the test has
# seen its series (not a fixed 2.5 s: at load 17 the restarted exporter took
# longer than that to start, and the series never came), and the series are
# waited for to go (the exit is noticed, and the grace counted, on the
# exporter's time).
"$py311" -c 'import os, sys, threading
def spin():
    while not os.path.exists(sys.argv[1]):
        pass
t = threading.Thread(target=spin); t.start(); spin(); t.join()' "$WORK/short.stop" &
short=$!
"$GILSCOPE" exporter --listen "127.0.0.1:$EPORT" -p "$short" --grace 1 \
  > /dev/null 2> "$WORK/exporter2.err" &
EXPORTER=$!
pids+=($EXPORTER)
seen=""
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$EPORT/metrics" 2>/dev/null | grep "^gilscope_gil_acquisitions_total{pid=\"$short\"" > /dev/null \
    && { seen=1; break; }
  sleep 0.1
done
touch "$WORK/short.stop"
[ -n "$seen" ] || { cat "$WORK/exporter2.err" >&2; fail "restarted exporter: no series for PID $short in 60 s"; }
wait $short
gone=""
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$EPORT/metrics" > "$WORK/after.txt" || fail "GET /metrics after the grace period"
  grep "pid=\"$short\"" "$WORK/after.txt" > /dev/null || { gone=1; break; }
  sleep 0.1
done
[ -n "$gone" ] || fail "PID $short's series outlived the grace period (1 s) by 60 s"
grep -q '^gilscope_exporter_processes_removed_total 1$' "$WORK/after.txt" || fail "processes_removed_total is not 1"
kill -TERM $EXPORTER
wait $EXPORTER || fail "exporter did not exit 0 on SIGTERM"
echo "restart: PID $short's series served while it ran, gone after its exit (--grace 1); SIGTERM exits 0"
echo PASS
