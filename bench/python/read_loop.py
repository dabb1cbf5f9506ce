#!/usr/bin/env python
"""One thread reading /dev/zero a byte at a time: each os.read releases
the GIL and takes it back, uncontended (a GIL round trip per call; bench
item 8). Runs on CPython 2.7 and 3.x.

Usage: read_loop.py N      Prints wall_s=S, calls=N, python=X.Y.Z.
"""
import os
import platform
import sys
import time

n = int(sys.argv[1])
fd = os.open("/dev/zero", os.O_RDONLY)
t0 = time.time()
for _ in range(n):
    os.read(fd, 1)
wall = time.time() - t0
sys.stdout.write("wall_s=%.6f\ncalls=%d\npython=%s\n"
                 % (wall, n, platform.python_version()))
