#!/usr/bin/env python3
"""Slowdown of a CPython CPU-bound run traced by gilscope record.

Runs tests/integration/python/countdown.py (two threads) alternately
untraced and under `gilscope record` (light probes, scheduler events on)
and compares the medians of the run's wall time and of its process CPU
time (which includes the kernel's probe handling). Also prints gilscope's
own overhead estimate for the traced runs. Root needed.

Usage: cpython_slowdown.py GILSCOPE PYTHON [RUNS] [UNITS]
  GS_RECORD_ARGS="--stacks" in the environment: record with these options
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

gilscope, python = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
units = sys.argv[4] if len(sys.argv) > 4 else "60000000"
here = os.path.dirname(os.path.abspath(__file__))
script = os.path.join(here, "..", "..", "..", "tests", "integration", "python",
                      "countdown.py")
env = dict(os.environ, GS_COUNTDOWN_TIMES="1")


def one(traced, trace):
    cmd = [python, script, units, "2"]
    if traced:
        cmd = ([gilscope, "record"] + os.environ.get("GS_RECORD_ARGS", "").split() +
               ["-o", trace, "--"] + cmd)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, check=True)
    m = re.search(r"wall ([0-9.]+) cpu ([0-9.]+)", p.stdout)
    est = re.search(r"estimated probe cost ([0-9.]+) ms = ([0-9.]+)%", p.stderr)
    return float(m.group(1)), float(m.group(2)), (float(est.group(2)) if est else None)


with tempfile.TemporaryDirectory() as d:
    trace = os.path.join(d, "t.gst")
    plain, traced = [], []
    for i in range(runs):
        plain.append(one(False, trace))
        traced.append(one(True, trace))
med = lambda xs: statistics.median(xs)
pw, pc = med([r[0] for r in plain]), med([r[1] for r in plain])
tw, tc = med([r[0] for r in traced]), med([r[1] for r in traced])
est = med([r[2] for r in traced if r[2] is not None])
print("countdown.py %s x2 threads, %d runs each, medians" % (units, runs))
print("  untraced: wall %.3f s  cpu %.3f s" % (pw, pc))
print("  traced:   wall %.3f s  cpu %.3f s" % (tw, tc))
print("  slowdown: wall %+.2f %%  cpu %+.2f %%  (gilscope's own estimate %.2f %%)"
      % (100 * (tw / pw - 1), 100 * (tc / pc - 1), est))
