#!/usr/bin/env python3
"""Checks that every thread of a gilscope trace has as many acquisitions as
releases and requests, to within the one a thread may be in the middle of
at each end of the recording (holding the GIL, or waiting for it, when the
probes were armed or disarmed). Prints the per-thread counts; exits 1
naming the first thread that does not balance.
Usage: thread_balance.py TRACE LABEL"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstrace  # noqa: E402

path, label = sys.argv[1], sys.argv[2]
hdr, threads, recs, end = gstrace.read(path)
per = {}
for r in recs:
    n = gstrace.NAMES.get(r[3])
    if n in ("acquire_request", "acquired", "release"):
        c = per.setdefault(r[1], {"acquire_request": 0, "acquired": 0, "release": 0})
        c[n] += 1
if not per:
    sys.exit("FAIL %s: no GIL events in %s" % (label, path))
for tid, c in sorted(per.items()):
    if abs(c["release"] - c["acquired"]) > 1 or \
            abs(c["acquire_request"] - c["acquired"]) > 1:
        sys.exit("FAIL %s: thread %d does not balance: %r" % (label, tid, c))
print("%s: per-thread counts balance: %s" % (
    label, " ".join("%d:%d/%d/%d" % (t, c["acquire_request"], c["acquired"],
                                     c["release"]) for t, c in sorted(per.items()))))
