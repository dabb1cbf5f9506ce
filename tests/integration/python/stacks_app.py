"""A program of known structure for `gilscope record --stacks` (stacks_*.sh).

Threads name themselves once started (prctl PR_SET_NAME, as libraries do):
  gs-cpu    spends its time in crunch(), pure Python arithmetic;
  gs-io     serves requests in serve(): recv on a socketpair, reply;
  gs-sleep  naps in nap(): time.sleep in a loop.
A forked client process (not traced: another process, its own GIL) sends
each request with its CLOCK_MONOTONIC send time and waits for the reply.

Ground truth, measured by the program itself (CLOCK_MONOTONIC, the clock
of the trace) and printed as JSON on the last line of stdout: each recv
call's (called, sent, got): when serve() called recv, when the client sent
the request (None for the end of input) and when recv returned to Python;
each reply's (got, replied) around sock.send (which also lets the GIL go);
the summed wait from the send (or the call, if later) to got; and the line
numbers of the known call sites, so the test can tell which of the trace's
GIL waits each call site holds. The client sends at least MIN_REQUESTS
requests, however slowly a loaded machine runs them.

usage: stacks_app.py SECONDS
"""
import ctypes
import json
import os
import socket
import struct
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
MIN_REQUESTS = 10
LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_NAME = 15


def name_me(name):
    threading.current_thread().name = name
    LIBC.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)


def line_of(marker):
    with open(__file__) as f:
        for n, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + marker):
                return n
    raise SystemExit("marker %s not found" % marker)


stop = threading.Event()
truth = {"recv_wait_ns": 0, "requests": 0, "crunch_cpu_ns": 0,
         "recv_windows": [], "reply_windows": []}


def crunch():
    x = 0
    for i in range(20000):
        x += i * i  # CRUNCH
    return x


def cpu_main():
    name_me("gs-cpu")
    t0 = time.thread_time_ns()
    while not stop.is_set():
        crunch()
    truth["crunch_cpu_ns"] = time.thread_time_ns() - t0


def serve(sock):
    while True:
        called = time.monotonic_ns()
        msg = sock.recv(8)  # RECV
        got = time.monotonic_ns()
        if len(msg) < 8:
            truth["recv_windows"].append((called, None, got))  # end of input
            return
        sent, = struct.unpack("<q", msg)
        # from the request's send, or from the call when the request was
        # already there (this thread was still waiting at its REPLY)
        truth["recv_wait_ns"] += got - max(sent, called)
        truth["requests"] += 1
        truth["recv_windows"].append((called, sent, got))
        sock.send(b"k")  # REPLY
        truth["reply_windows"].append((got, time.monotonic_ns()))


def io_main(sock):
    name_me("gs-io")
    serve(sock)


def nap():
    while not stop.is_set():
        time.sleep(0.02)  # NAP


def sleep_main():
    name_me("gs-sleep")
    nap()


def client(sock, seconds):
    end, sent = time.monotonic() + seconds, 0
    while time.monotonic() < end or sent < MIN_REQUESTS:
        sent += 1
        sock.send(struct.pack("<q", time.monotonic_ns()))
        if not sock.recv(1):
            break
        time.sleep(0.002)
    sock.shutdown(socket.SHUT_WR)


def main():
    sys.setswitchinterval(0.02)
    server_end, client_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        server_end.close()
        time.sleep(0.2)  # let the threads start and name themselves
        client(client_end, SECONDS)
        os._exit(0)
    client_end.close()
    threads = [threading.Thread(target=cpu_main),
               threading.Thread(target=io_main, args=(server_end,)),
               threading.Thread(target=sleep_main)]
    for t in threads:
        t.start()
    os.waitpid(pid, 0)
    threads[1].join()
    stop.set()
    for t in threads:
        t.join()
    truth["lines"] = {m: line_of(m) for m in ("CRUNCH", "RECV", "REPLY", "NAP")}
    truth["file"] = os.path.abspath(__file__)
    print(json.dumps(truth))


main()
