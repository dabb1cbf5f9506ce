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

It also prints proc_cpu_s=S, proc_utime_s=S, proc_stime_s=S: the whole
process's CPU time from its exec to the end (start-up included, the span
`gilscope record -- CMD` prices; getrusage, microseconds).

--cpu N keeps every thread on CPU N; --ready FILE creates FILE once the
program is about to start, and --start-after FILE then waits for FILE to
exist: bench items 10 and 12 start a traced and an untraced copy on one
CPU at the same moment, so that both see the same CPU speed
(bench/python/startline.py, docs/performance.md, items 10 and 12).
"""
import argparse
import os
import platform
import resource
import sys
import threading
import time

import startline


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
    startline.add_arguments(ap)
    a = ap.parse_args()
    if a.threads < 1 or a.count < a.threads:
        ap.error("need --threads >= 1 and --count >= threads")
    startline.start(a)
    if not a.no_single:
        single = run(1, a.count)[0]
        sys.stdout.write("single_thread_wall_s=%.6f\n" % single)
    v0, i0 = switches()
    multi, cpu = run(a.threads, a.count)
    v1, i1 = switches()
    user, system = startline.process_times()
    sys.stdout.write("wall_s=%.6f\ncpu_s=%.9f\nthreads=%d\ncount=%d\npython=%s\n"
                     "vcsw=%d\nivcsw=%d\nproc_cpu_s=%.6f\nproc_utime_s=%.6f\n"
                     "proc_stime_s=%.6f\n"
                     % (multi, cpu, a.threads, a.count, platform.python_version(),
                        v1 - v0, i1 - i0, user + system, user, system))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
