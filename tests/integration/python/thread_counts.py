#!/usr/bin/env python3
"""Per-thread GIL counts of a gilscope native trace, as JSON: the worker
threads (every thread but the process's main thread), in the order they
first appear, each with acquisitions, releases by reason and requests.
Usage: thread_counts.py TRACE"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstrace  # noqa: E402

hdr, threads, recs, end = gstrace.read(sys.argv[1])
pid = hdr["pid"] if isinstance(hdr, dict) else hdr[7]
first, per = {}, {}
for r in recs:
    ts, tid, typ, a8 = r[0], r[1], r[3], r[4]
    if tid == pid:
        continue
    first.setdefault(tid, ts)
    c = per.setdefault(tid, {})
    name = gstrace.NAMES.get(typ, str(typ))
    if name == "release":
        name = "release_" + gstrace.REASONS.get(a8, str(a8))
    if name in ("acquired", "acquire_request") or name.startswith("release"):
        c[name] = c.get(name, 0) + 1
print(json.dumps([per[t] for t in sorted(per, key=lambda t: first[t])], sort_keys=True))
