#!/usr/bin/env python
"""One thread reading /dev/zero a byte at a time: each os.read releases
the GIL and takes it back, uncontended (a GIL round trip per call; bench
items 8 and 10). Runs on CPython 2.7 and 3.x.

Usage: read_loop.py N [--cpu N] [--ready FILE --start-after FILE]
Prints wall_s=S, calls=N, python=X.Y.Z, and proc_cpu_s=S, proc_utime_s=S,
proc_stime_s=S: the whole process's CPU time from its exec to the end
(start-up included, the span `gilscope record -- CMD` prices). The other
options: bench/python/startline.py.
"""
import argparse
import os
import platform
import sys
import time

import startline

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("calls", type=int)
startline.add_arguments(ap)
a = ap.parse_args()
startline.start(a)
n = a.calls
fd = os.open("/dev/zero", os.O_RDONLY)
t0 = time.time()
for _ in range(n):
    os.read(fd, 1)
wall = time.time() - t0
user, system = startline.process_times()
sys.stdout.write("wall_s=%.6f\ncalls=%d\npython=%s\nproc_cpu_s=%.6f\n"
                 "proc_utime_s=%.6f\nproc_stime_s=%.6f\n"
                 % (wall, n, platform.python_version(), user + system, user, system))
