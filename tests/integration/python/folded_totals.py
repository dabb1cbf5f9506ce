"""Conservation check for folded output (stacks_*.sh): per thread, the
folded hold and wait values add up to the report's hold_ns and wait_ns
(gilscope report --json), whatever the stacks: attribution only splits
the time, it neither loses nor invents any.

usage: folded_totals.py REPORT.json HOLD.folded WAIT.folded
"""
import collections
import json
import sys

rep = json.load(open(sys.argv[1]))
for kind, path, key in (("hold", sys.argv[2], "hold_ns"), ("wait", sys.argv[3], "wait_ns")):
    sums = collections.Counter()
    for line in open(path):
        stack, value = line.rsplit(" ", 1)
        sums[stack.split(";")[0]] += int(value)
    totals = collections.Counter()
    for th in rep["threads"]:
        totals[th["name"]] += th[key]
    for name in totals:
        if abs(sums[name] - totals[name]) > 1000:  # ns rounding of the sums
            sys.exit("%s %s: folded %d ns, report %d ns" % (name, kind, sums[name], totals[name]))
