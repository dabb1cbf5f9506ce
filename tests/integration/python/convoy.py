# The I/O convoy (bpo-7946): an echo server thread beside a CPU-bound thread.
# Each recv/send releases the GIL; taking it back waits behind the CPU
# thread for up to a switch interval. The client is a separate process, so
# only the server's GIL is involved. Works on CPython 2.7 and 3.x.
# Usage: convoy.py REQUESTS CPU_THREADS [THINK_S]   (prints "requests/s N")
import socket
import subprocess
import sys
import threading
import time

# The client thinks a little before each request (a remote peer's delay):
# while the server waits in recv the CPU thread gets a CPU and the GIL,
# even on a machine whose other CPU is busy.
CLIENT = r"""
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
think = float(sys.argv[3])
for i in range(int(sys.argv[2])):
    if think:
        time.sleep(think)
    s.sendall(b"x")
    if not s.recv(16):
        break
s.close()
"""

stop = []


def spin():
    n = 0
    while not stop:
        n += 1


def serve(listener):
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(16)
        if not data:
            break
        conn.sendall(data)
    conn.close()


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    ncpu = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    think = sys.argv[3] if len(sys.argv) > 3 else "0.001"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    cpus = [threading.Thread(target=spin, name="cpu-%d" % i) for i in range(ncpu)]
    server = threading.Thread(target=serve, args=(listener,), name="echo")
    server.start()
    for t in cpus:
        t.start()
    t0 = time.time()
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(port), str(requests),
                               think])
    client.wait()
    elapsed = time.time() - t0
    server.join()
    stop.append(1)
    for t in cpus:
        t.join()
    sys.stdout.write("requests/s %.0f\n" % (requests / elapsed))


if __name__ == "__main__":
    main()
