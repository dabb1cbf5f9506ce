#!/usr/bin/env python
"""Beazley's countdown on a real CPython: the same total work done by one
thread, then split over N threads. The twin of `gilscope run countdown`
(bench item 5). Runs on CPython 2.7 and 3.x.

Usage: countdown.py [-t THREADS] [-n COUNT] [--no-single] [--cpu N]
                    [--ready FILE --start-after FILE]
Prints single_thread_wall_s=S (unless --no-single), wall_s=S, cpu_s=S (the
process's CPU time over the N-thread run: every thread's, in user and
kernel mode, so the kernel's probe handling too; ns resolution from
CLOCK_PROCESS_CPUTIME_ID on 3.3+, clock ticks from os.times() on 2.7),
threads=N, count=N, python=X.Y.Z, and vcsw=N, ivcsw=N: the voluntary and
involuntary context switches of the process over the N-thread run
(getrusage; a waiter that sleeps on the GIL and is woken at each release
shows as tens of thousands of voluntary ones, docs/observer-effect.md).

--cpu N keeps every thread on CPU N (3.3+); --ready FILE creates FILE once
the program is about to start, and --start-after FILE then waits for FILE
to exist: bench item 10 starts a traced and an untraced copy on one CPU
at the same moment, so that both see the same CPU speed
(docs/observer-effect.md, "co-scheduled pairs").
"""
import argparse
import os
import platform
import resource
import sys
import threading
import time


def count(n):
    while n > 0:
        n -= 1


def cpu_time():
    if hasattr(time, "process_time"):
        return time.process_time()
    t = os.times()
    return t[0] + t[1]


def switches():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_nvcsw, r.ru_nivcsw


def run(threads, total):
    """(wall, CPU) seconds of total countdown steps split over threads."""
    share = total // threads
    workers = [threading.Thread(target=count, args=(share,))
               for _ in range(threads)]
    t0, c0 = time.time(), cpu_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.time() - t0, cpu_time() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-n", "--count", type=int, default=20000000)
    ap.add_argument("--no-single", action="store_true",
                    help="skip the 1-thread run (tracing-cost runs)")
    ap.add_argument("--cpu", type=int, help="run every thread on this CPU")
    ap.add_argument("--ready", help="create this file when about to start")
    ap.add_argument("--start-after", help="start once this file exists")
    a = ap.parse_args()
    if a.threads < 1 or a.count < a.threads:
        ap.error("need --threads >= 1 and --count >= threads")
    if a.cpu is not None:
        if not hasattr(os, "sched_setaffinity"):
            ap.error("--cpu needs Python 3.3+ on Linux")
        os.sched_setaffinity(0, [a.cpu])
    if a.ready:
        open(a.ready, "w").close()
    if a.start_after:
        while not os.path.exists(a.start_after):
            time.sleep(0.001)
    if not a.no_single:
        single = run(1, a.count)[0]
        sys.stdout.write("single_thread_wall_s=%.6f\n" % single)
    v0, i0 = switches()
    multi, cpu = run(a.threads, a.count)
    v1, i1 = switches()
    sys.stdout.write("wall_s=%.6f\ncpu_s=%.9f\nthreads=%d\ncount=%d\npython=%s\n"
                     "vcsw=%d\nivcsw=%d\n"
                     % (multi, cpu, a.threads, a.count, platform.python_version(),
                        v1 - v0, i1 - i0))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
