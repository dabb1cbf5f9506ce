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
otherwise put the twins on either side of it. Inside the window every
event must have its twin: a missed or extra event still fails.

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


def last_kinds(events, bounds):
    """For each bound (ascending), each thread's last event kind before it."""
    out, state, i = [], {}, 0
    for m in bounds:
        while i < len(events) and events[i][0] < m:
            state[events[i][1]] = events[i][2]
            i += 1
        out.append(dict(state))
    return out


ours.sort()
theirs.sort()
bounds = [m for m, x, y in zip(gaps, last_kinds(ours, gaps), last_kinds(theirs, gaps))
          if x == y]
if len(bounds) < 2:
    sys.exit("FAIL: no two quiet gaps of %.1f ms inside the trace where both logs agree "
             "on every thread's last event (%d gaps)" % (gap / 1e6, len(gaps)))
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
if a != b:
    sys.exit("FAIL: per-thread counts differ in the common window")
