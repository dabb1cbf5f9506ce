#!/usr/bin/env python3
"""The convoy on a real CPython: a Python echo server thread answering small
requests over TCP on 127.0.0.1 beside K CPU-bound Python threads. The twin
of `gilscope run convoy` (bench item 4).

Three phases, each with a fresh listening socket and client:
  solo     no CPU threads                              -> solo_rps
  policy   K CPU threads in the server's process (GIL) -> rps, cpu_work_per_s
  ceiling  K CPU-bound processes instead (no shared GIL, only the cores)
                                                       -> ceiling_rps,
                                                          ceiling_cpu_work_per_s
The client is a separate process (bench/python/echo_client.py), so it never
waits for the server's GIL; it pauses --think-us before each request, like
the C scenario's client. A work unit is one multiply-add-mask line (a few
bytecodes); the server does --server-units of them per request.

Usage: echo_convoy.py [-k K] [-d SECONDS] [--msg-size B] [--server-units N]
                      [--think-us U] [--gil-only]
Prints key=value lines (solo_rps, rps, ceiling_rps, rps_over_ceiling,
cpu_work_per_s, ceiling_cpu_work_per_s, cpu_work_over_ceiling, python).
--gil-only runs the policy phase alone (rps, cpu_work_per_s, python), so a
trace of the process (gilscope record) holds that phase and nothing else.
"""
import argparse
import ctypes
import os
import platform
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PR_SET_NAME = 15


def name_thread(name):
    """Names the OS thread (what a trace of this process shows), as
    `gilscope run convoy` names its threads."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode(), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def cpu_thread(stop, counts, idx):
    name_thread("cpu-%d" % idx)
    x = idx + 1
    n = 0
    while not stop[0]:
        for _ in range(256):
            x = (x * 1103515245 + 12345) & 0x7fffffff
        n += 256
        counts[idx] = n


def cpu_worker(seconds):
    """A CPU-bound process for the ceiling phase: prints units/s."""
    x = 1
    n = 0
    t0 = time.monotonic()
    end = t0 + seconds
    while True:
        for _ in range(256):
            x = (x * 1103515245 + 12345) & 0x7fffffff
        n += 256
        if time.monotonic() >= end:
            break
    print("units_per_s=%.1f" % (n / (time.monotonic() - t0)))


def serve(lsock, msg_size, server_units, out):
    name_thread("echo-server")
    conn, _ = lsock.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    requests = 0
    first = last = None
    x = 1
    while True:
        buf = b""
        while len(buf) < msg_size:
            chunk = conn.recv(msg_size - len(buf))
            if not chunk:
                break
            buf += chunk
        if len(buf) < msg_size:
            break
        for _ in range(server_units):
            x = (x * 1103515245 + 12345) & 0x7fffffff
        conn.sendall(buf)
        now = time.monotonic()
        if first is None:
            first = now
            out["first_counts"] = list(out["counts"])
        requests += 1
        last = now
    out["last_counts"] = list(out["counts"])
    conn.close()
    out["requests"] = requests
    out["window_s"] = (last - first) if first is not None and last > first else 0.0


def phase(args, k, mode):
    """mode: 'gil' (K threads here) or 'ceiling' (K processes)."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    stop = [False]
    counts = [0] * k
    out = {"counts": counts}
    threads, procs = [], []
    if mode == "gil":
        for i in range(k):
            t = threading.Thread(target=cpu_thread, args=(stop, counts, i))
            t.daemon = True
            t.start()
            threads.append(t)
    else:
        for _ in range(k):
            procs.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--cpu-worker",
                 str(args.duration + 0.4)], stdout=subprocess.PIPE))
    time.sleep(0.1)  # CPU threads running before the first request
    server = threading.Thread(target=serve, args=(lsock, args.msg_size,
                                                  args.server_units, out))
    server.start()
    client = subprocess.Popen([sys.executable,
                               os.path.join(HERE, "echo_client.py"),
                               str(port), str(args.duration),
                               str(args.msg_size), str(args.think_us)])
    server.join()
    client.wait()
    stop[0] = True
    for t in threads:
        t.join()
    lsock.close()
    cpu_rate = 0.0
    if mode == "gil" and k and out["window_s"] > 0:
        done = sum(out["last_counts"]) - sum(out["first_counts"])
        cpu_rate = done / out["window_s"]
    for p in procs:
        text = p.communicate()[0].decode()
        for line in text.splitlines():
            if line.startswith("units_per_s="):
                cpu_rate += float(line.split("=", 1)[1])
    if client.returncode != 0:
        sys.exit("echo_convoy: the client failed (exit %d)" % client.returncode)
    rps = out["requests"] / out["window_s"] if out["window_s"] > 0 else 0.0
    return rps, cpu_rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", "--cpu-threads", type=int, default=1)
    ap.add_argument("-d", "--duration", type=float, default=1.0)
    ap.add_argument("--msg-size", type=int, default=16)
    ap.add_argument("--server-units", type=int, default=20)
    ap.add_argument("--think-us", type=int, default=20)
    ap.add_argument("--gil-only", action="store_true",
                    help="run the phase with the CPU threads on the GIL only")
    ap.add_argument("--cpu-worker", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.cpu_worker is not None:
        cpu_worker(a.cpu_worker)
        return 0
    if a.cpu_threads < 0 or a.duration <= 0 or a.msg_size < 1:
        ap.error("need -k >= 0, -d > 0 and --msg-size >= 1")
    if a.gil_only:
        rps, cpu = phase(a, a.cpu_threads, "gil")
        print("cpu_threads=%d" % a.cpu_threads)
        print("rps=%.1f" % rps)
        print("cpu_work_per_s=%.1f" % cpu)
        print("python=%s" % platform.python_version())
        return 0
    solo, _ = phase(a, 0, "gil")
    rps, cpu = phase(a, a.cpu_threads, "gil")
    ceil_rps, ceil_cpu = phase(a, a.cpu_threads, "ceiling")
    print("cpu_threads=%d" % a.cpu_threads)
    print("solo_rps=%.1f" % solo)
    print("rps=%.1f" % rps)
    print("ceiling_rps=%.1f" % ceil_rps)
    print("rps_over_ceiling=%.4f" % (rps / ceil_rps if ceil_rps else 0.0))
    print("cpu_work_per_s=%.1f" % cpu)
    print("ceiling_cpu_work_per_s=%.1f" % ceil_cpu)
    print("cpu_work_over_ceiling=%.4f" % (cpu / ceil_cpu if ceil_cpu else 0.0))
    print("python=%s" % platform.python_version())
    return 0


if __name__ == "__main__":
    sys.exit(main())
