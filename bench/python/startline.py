"""What the bench programs share (countdown.py, read_loop.py): the options
of a co-scheduled pair, whose traced and untraced copies run at the same
time on one CPU from one start line (docs/performance.md, items 10 and
12), and the process's CPU time since its start.
Runs on CPython 2.7 and 3.x.

--cpu N keeps every thread on CPU N; --ready FILE creates FILE once the
program is about to start, and --start-after FILE then waits for FILE to
exist.
"""
import os
import resource
import time


def add_arguments(ap):
    ap.add_argument("--cpu", type=int, help="run every thread on this CPU")
    ap.add_argument("--ready", help="create this file when about to start")
    ap.add_argument("--start-after", help="start once this file exists")


def _pin(cpu):
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, [cpu])
        return
    # CPython 2.7 has no os.sched_setaffinity: libc's, for this thread
    # (the threads it starts later inherit the mask)
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                       use_errno=True)
    mask = (ctypes.c_ulong * 16)()
    mask[cpu // 64] = 1 << (cpu % 64)
    if libc.sched_setaffinity(0, ctypes.sizeof(mask), ctypes.byref(mask)):
        raise OSError(ctypes.get_errno(), "sched_setaffinity")


def start(a):
    """Pins, says ready, waits for the start line: as the options say."""
    if a.cpu is not None:
        _pin(a.cpu)
    if a.ready:
        open(a.ready, "w").close()
    if a.start_after:
        while not os.path.exists(a.start_after):
            time.sleep(0.001)


def process_times():
    """(user, system) CPU seconds of the whole process since its exec, every
    thread's (getrusage: microseconds; the interpreter's start-up included,
    the span `gilscope record -- CMD` prices)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime
