"""A small echo service with a CPU-bound thread beside it: the classic
CPython I/O convoy (bpo-7946). Works on CPython 2.7 and 3.x.

    python echo_service.py [SECONDS] [CPU_THREADS] [THINK_MS]

The server thread answers 1-byte requests over a loopback TCP socket; the
client, a separate process so that it does not share this GIL, thinks for
THINK_MS (default 1 ms, a remote peer's delay), sends a request and waits
for its answer; CPU_THREADS threads count down meanwhile. Prints requests
per second and the CPU threads' rate.
"""
import ctypes
import ctypes.util
import socket
import subprocess
import sys
import threading
import time

if len(sys.argv) > 1 and sys.argv[1] == "client":
    port, duration, think = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n, deadline = 0, time.time() + duration
    while time.time() < deadline:
        if think:
            time.sleep(think)
        s.sendall(b"x")
        s.recv(16)
        n += 1
    s.close()
    sys.stdout.write("%d\n" % n)
    sys.exit(0)

DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
CPU_THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
THINK_S = float(sys.argv[3]) / 1000.0 if len(sys.argv) > 3 else 0.001
stop = threading.Event()
counts = {"work": 0}


def name_os_thread(name):
    """Give the OS thread the Python thread's name, so that gilscope,
    top and perf show it (CPython does not do it before 3.14)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(15, ctypes.c_char_p(name.encode()), 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def server(listener):
    name_os_thread("server")
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(16)
        if not data:
            break
        conn.sendall(data)
    conn.close()


def cpu():
    name_os_thread(threading.current_thread().name)
    n = 0
    while not stop.is_set():
        for _ in range(1000):
            n += 1
    counts["work"] += n


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
port = listener.getsockname()[1]
threads = [threading.Thread(target=server, args=(listener,), name="server")]
threads += [threading.Thread(target=cpu, name="cpu%d" % i) for i in range(CPU_THREADS)]
for t in threads:
    t.start()
client = subprocess.Popen([sys.executable, __file__, "client", str(port), str(DURATION),
                           str(THINK_S)], stdout=subprocess.PIPE)
requests = int(client.communicate()[0])
stop.set()
for t in threads:
    t.join()
print("requests/s %.0f  cpu work/s %.0f" % (requests / DURATION,
                                             counts["work"] / DURATION))
