# Two CPU-bound threads counting down (Beazley's experiment). Works on
# CPython 2.7 and 3.x. Usage: countdown.py [TOTAL] [THREADS]
import sys
import threading


def countdown(n):
    while n > 0:
        n -= 1


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20000000
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    threads = [threading.Thread(target=countdown, args=(total // nthreads,),
                                name="cpu-%d" % i) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
