# Two CPU-bound threads counting down (Beazley's experiment). Works on
# CPython 2.7 and 3.x. Usage: countdown.py [TOTAL] [THREADS]
# With GS_COUNTDOWN_TIMES=1 in the environment it prints "wall S cpu S";
# GS_SWITCH_INTERVAL=S sets the switch interval (3.x).
import os
import sys
import threading
import time


def countdown(n):
    while n > 0:
        n -= 1


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20000000
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    if os.environ.get("GS_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["GS_SWITCH_INTERVAL"]))
    t0, c0 = time.time(), os.times()
    threads = [threading.Thread(target=countdown, args=(total // nthreads,),
                                name="cpu-%d" % i) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if os.environ.get("GS_COUNTDOWN_TIMES"):
        c1 = os.times()
        # process CPU time includes the kernel's probe handling
        sys.stdout.write("wall %.6f cpu %.6f\n" % (
            time.time() - t0, (c1[0] - c0[0]) + (c1[1] - c0[1])))


if __name__ == "__main__":
    main()
