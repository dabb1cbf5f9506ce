#!/usr/bin/env python3
"""Compares a gilscope trace with an independent per-event log of the same
process's take_gil entries/returns and drop_gil entries (lines
"NSECS PID TID q|a|r" from a bpftrace script; bpftrace's nsecs and the
trace's timestamps are the same monotonic clock), per thread and per kind,
over the part of the recording both cover: from the middle of the first
quiet gap (no event of either, >= GAP_MS) after the trace's first GIL event
to the middle of the last such gap before its last one. The probes of two
tools attach and detach at different moments, so only a window inside both
can be compared; gaps keep an event and its twin (a few us apart: another
probe, the same moment) on the same side of each bound. A gap is a bound
only where both logs agree on every thread's last event kind before it: the
two tools stamp an event at different instructions (bpftrace at drop_gil's
entry, the symbol-free method at its pthread_cond_signal), and a thread
preempted between the two for longer than a gap (a loaded machine) would
otherwise put the twins on either side of it. The agreement is judged on
the threads both logs have events of: bpftrace attaches first, so it may
see a thread's last GIL event before the thread blocks for good (the
countdown's main thread entering join() under a slow start), which the
later-attached gilscope never sees; that thread would otherwise make every
gap disagree. Inside the window every event, of any thread, must have its
twin: a missed or extra event still fails, and so does a thread one log has
events of inside the window and the other has not.

Prints the per-thread counts as JSON; exits 1 naming the first difference.
Usage: bpftrace_window.py TRACE BPFTRACE_LOG [GAP_MS]"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstrace  # noqa: E402

KINDS = {"acquire_request": "q", "acquired": "a", "release": "r"}

hdr, threads, recs, end = gstrace.read(sys.argv[1])
gap = float(sys.argv[3]) * 1e6 if len(sys.argv) > 3 else 1e6
pid = hdr["pid"]
ours = [(r[0], r[1], KINDS[gstrace.NAMES[r[3]]]) for r in recs
        if gstrace.NAMES.get(r[3]) in KINDS]
theirs = []
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) == 4 and f[0].isdigit() and int(f[1]) == pid and f[3] in "qar":
        theirs.append((int(f[0]), int(f[2]), f[3]))
if not ours or not theirs:
    sys.exit("FAIL: no GIL events (trace %d, bpftrace %d)" % (len(ours), len(theirs)))
first, last = ours[0][0], ours[-1][0]
times = sorted(set(t for t, _, _ in ours + theirs))
gaps = [(a + b) // 2 for a, b in zip(times, times[1:]) if b - a >= gap
        and first < (a + b) // 2 < last]


both = set(tid for _, tid, _ in ours) & set(tid for _, tid, _ in theirs)


def last_kinds(events, bounds):
    """For each bound (ascending), the last event kind before it of each
    thread both logs have events of."""
    out, state, i = [], {}, 0
    for m in bounds:
        while i < len(events) and events[i][0] < m:
            if events[i][1] in both:
                state[events[i][1]] = events[i][2]
            i += 1
        out.append(dict(state))
    return out


ours.sort()
theirs.sort()
kinds_ours, kinds_theirs = last_kinds(ours, gaps), last_kinds(theirs, gaps)
bounds = [m for m, x, y in zip(gaps, kinds_ours, kinds_theirs) if x == y]
if len(bounds) < 2:
    for m, x, y in list(zip(gaps, kinds_ours, kinds_theirs))[:5]:
        sys.stderr.write("gap at +%.3f ms: last kinds gilscope %s, bpftrace %s\n" % (
            (m - first) / 1e6, sorted(x.items()), sorted(y.items())))
    sys.exit("FAIL: no two quiet gaps of %.1f ms inside the trace where both logs agree "
             "on every thread's last event (%d gaps; threads: gilscope %s, bpftrace %s)"
             % (gap / 1e6, len(gaps), sorted(set(t for _, t, _ in ours)),
                sorted(set(t for _, t, _ in theirs))))
lo, hi = bounds[0], bounds[-1]


def per_thread(events):
    out = {}
    for t, tid, k in events:
        if lo <= t <= hi:
            c = out.setdefault(str(tid), {"q": 0, "a": 0, "r": 0})
            c[k] += 1
    return out


a, b = per_thread(ours), per_thread(theirs)
print(json.dumps({"window_ms": round((hi - lo) / 1e6, 1), "gilscope": a,
                  "bpftrace": b}, sort_keys=True))
for tid in sorted(set(a) | set(b), key=int):
    x, y = a.get(tid, {}), b.get(tid, {})
    for k, name in (("q", "requests"), ("a", "acquisitions"), ("r", "releases")):
        if x.get(k, 0) != y.get(k, 0):
            sys.exit("FAIL: per-thread counts differ in the common window: thread %s, "
                     "%s: gilscope %d, bpftrace %d" % (tid, name, x.get(k, 0), y.get(k, 0)))
