# Threads run one after another, thread i making N + i blocking calls
# (os.stat): each thread's GIL acquisitions and releases are then the same
# on every run and on every build of the same CPython
# (tests/integration/ebpf_symfree.sh), however the OS schedules them.
# Works on CPython 2.7 and 3.x. Usage: blocking_threads.py N THREADS
import os
import sys
import threading
import time


def work(n):
    time.sleep(0.05)  # the starter usually parks in join() first
    for _ in range(n):
        os.stat(".")


def main():
    n, k = int(sys.argv[1]), int(sys.argv[2])
    # The starter may still want the GIL while a worker runs (on a loaded
    # machine it can reach join() after the worker's sleep). With no
    # periodic switch it then waits for the worker's next blocking call
    # instead of forcing a release: a forced drop would add an
    # acquisition and a release to the worker's counts.
    if sys.version_info[0] == 2:
        # (2.7's tick counter is shared by all threads: which thread's
        # periodic release comes first would depend on the OS scheduler)
        sys.setcheckinterval(1 << 30)
    else:
        sys.setswitchinterval(1e6)  # seconds: no timed wait runs out
    for i in range(k):
        t = threading.Thread(target=work, args=(n + i,))
        t.start()
        t.join()


main()
