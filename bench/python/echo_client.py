#!/usr/bin/env python3
"""Client of bench/python/echo_convoy.py: round trips of MSG_SIZE bytes to
127.0.0.1:PORT for SECONDS, pausing THINK_US before each request (with a
1 ns timer slack, as the C scenario's client, so the pause is not 50 us).

Usage: echo_client.py PORT SECONDS MSG_SIZE THINK_US
"""
import ctypes
import socket
import sys
import time

PR_SET_TIMERSLACK = 29


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip())
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    size, think = int(sys.argv[3]), int(sys.argv[4]) / 1e6
    try:
        ctypes.CDLL(None).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = b"x" * size
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if think:
            time.sleep(think)
        s.sendall(msg)
        got = 0
        while got < size:
            chunk = s.recv(size - got)
            if not chunk:
                sys.exit("echo_client: server closed the connection")
            got += len(chunk)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
