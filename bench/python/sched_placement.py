#!/usr/bin/env python3
"""Where the scheduler runs a convoy's threads: reads `perf sched record -a`
data of one echo convoy run (bench/python/echo_convoy.py or `gilscope run
convoy`, whose threads are named echo-server, cpu-0 and echo-client) and
prints, for the phase's server, CPU thread and client, the run-queue wait
after a wake-up and after a preemption, the server's waits of more than
4 ms (its switch-interval waits), and where each wake-up of the server
while the CPU thread was running put it: on the CPU thread's CPU or on
another one (docs/scenarios.md, "why the `cpython` policy ran slower than
CPython 3.11 under load").

Usage: sched_placement.py PERF_DATA [--phase N]
  --phase N  the phase's server is the Nth echo-server thread by thread id
             (default: the one that waited longest in sleeps of more than
             4 ms, i.e. behind the GIL: the policy phase of `gilscope run
             convoy`, or echo_convoy.py's only one)
The client is the echo-client thread, else the first python3.11 process
started after the server (echo_client.py).
"""
import argparse
import collections
import re
import statistics
import subprocess
import sys

EVENT = re.compile(r"\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)")
SWITCH = re.compile(r"prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.+?) next_pid=(\d+)")


def events(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F",
                          "comm,tid,pid,cpu,time,event,trace"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = EVENT.match(line)
        if m:
            comm, _pid, tid, cpu, t, ev, rest = m.groups()
            yield float(t), int(cpu), ev, comm, int(tid), rest


def gil_waits(evs, tid):
    """Time tid spent in sleeps of more than 4 ms."""
    since, total = None, 0.0
    for t, _cpu, ev, _comm, _tid, rest in evs:
        if ev == "sched_switch":
            m = SWITCH.search(rest)
            if int(m.group(1)) == tid and not m.group(2).startswith("R"):
                since = t
        elif ev == "sched_waking" and since is not None and \
                int(re.search(r" pid=(\d+) ", rest).group(1)) == tid:
            if t - since > 0.004:
                total += t - since
            since = None
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("perf_data")
    ap.add_argument("--phase", type=int)
    a = ap.parse_args()
    evs = list(events(a.perf_data))
    names = {}
    for _t, _cpu, ev, _comm, _tid, rest in evs:
        if ev == "sched_switch":
            m = SWITCH.search(rest)
            names[int(m.group(4))] = m.group(3)  # the latest name
    tids = sorted(names)
    servers = [t for t in tids if names[t] == "echo-server"]
    cpus = [t for t in tids if names[t] == "cpu-0"]
    if not servers or not cpus:
        sys.exit("sched_placement: no echo-server and cpu-0 threads in %s"
                 % a.perf_data)
    if a.phase:
        srv = servers[a.phase - 1]
    else:
        srv = max(servers, key=lambda s: gil_waits(evs, s))
    cpu0 = min(cpus, key=lambda c: abs(c - srv))
    clients = [t for t in tids if names[t] == "echo-client" and t > srv] or \
              [t for t in tids if names[t] == "python3.11" and t > srv]
    if not clients:
        sys.exit("sched_placement: no client after echo-server %d" % srv)
    role = {srv: "server", cpu0: "cpu-0", clients[0]: "client"}
    running = {}        # tid -> cpu
    pending = {}        # tid -> (time, how, cpu of cpu-0 then)
    slept = {}
    waits = collections.defaultdict(list)
    placed = collections.Counter()
    long_waits = 0
    for t, cpu, ev, _comm, tid, rest in evs:
        if ev == "sched_waking":
            w = int(re.search(r" pid=(\d+) ", rest).group(1))
            if w in role and w not in pending:
                pending[w] = (t, "woken", running.get(cpu0))
                if w == srv and w in slept and t - slept[w] > 0.004:
                    long_waits += 1
        elif ev == "sched_switch":
            m = SWITCH.search(rest)
            prev, state, nxt = int(m.group(1)), m.group(2), int(m.group(4))
            running.pop(prev, None)
            if prev in role:
                if state.startswith("R"):
                    pending[prev] = (t, "preempted", running.get(cpu0))
                else:
                    slept[prev] = t
            running[nxt] = cpu
            if nxt in pending:
                t0, how, c0 = pending.pop(nxt)
                waits[(role[nxt], how)].append((t - t0) * 1e6)
                if nxt == srv and how == "woken" and c0 is not None:
                    placed["on cpu-0's CPU" if c0 == cpu else "on the other CPU"] += 1
    print("server %d, cpu-0 %d, client %d; server waits > 4 ms: %d"
          % (srv, cpu0, clients[0], long_waits))
    for (who, how), v in sorted(waits.items()):
        v.sort()
        print("  %-6s %-9s n=%6d  run-queue wait p50 %6.1f us  p90 %7.1f us"
              % (who, how, len(v), statistics.median(v), v[int(len(v) * 0.9)]))
    total = sum(placed.values())
    for where, n in sorted(placed.items()):
        print("  server woken while cpu-0 ran, %-17s %5d (%.0f %%)"
              % (where + ":", n, 100.0 * n / total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
