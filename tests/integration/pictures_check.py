#!/usr/bin/env python3
"""Structure checks of gilscope's exports, shared by tests/integration/pictures_*.sh.

  pictures_check.py chrome FILE.json [THREADS]
      Chrome trace-event JSON: every phase we promise (M X i s f C), one
      thread_name per thread, flows paired, X slices nested per thread (no
      partial overlap), ts/dur in us with exactly ns decimals, hold/wait names.
  pictures_check.py perfetto DECODED.txt FILE.json [THREADS]
      `protoc --decode=perfetto.protos.Trace` output: no unknown field, each
      sequence in time order, slices paired per track (GIL + off-CPU depth at
      most 2), every flow starts once and ends once, as many slices as the
      Chrome JSON export has X events.
"""
import collections
import json
import re
import sys


def chrome(argv):
    threads = int(argv[1]) if len(argv) > 1 else 3
    sys.argv = [sys.argv[0], argv[0]]
    d = json.load(open(sys.argv[1]))
    ev = d["traceEvents"]
    ph = collections.Counter(e["ph"] for e in ev)
    for p in "MXisfC":
        assert ph[p] > 0, f"no ph={p} event ({dict(ph)})"
    names = {e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
    assert len(names) == threads, names
    s = {e["id"] for e in ev if e["ph"] == "s"}
    f = {e["id"] for e in ev if e["ph"] == "f"}
    assert s == f, "unpaired flows"
    # X slices on one thread nest (no partial overlap): viewers need that
    per = collections.defaultdict(list)
    for e in ev:
        if e["ph"] == "X":
            assert e["dur"] >= 0
            per[e["tid"]].append((e["ts"], -e["dur"], e["ts"] + e["dur"]))
    for tid, xs in per.items():
        xs.sort()
        stack = []
        for ts, _, end in xs:
            # ts + dur in binary floating point: allow 0.1 ns of rounding
            while stack and stack[-1] <= ts + 1e-4:
                stack.pop()
            assert not stack or end <= stack[-1] + 1e-4, f"tid {tid}: overlap at {ts}"
            stack.append(end)
    # ts/dur: microseconds written with at most 3 decimals (exact ns)
    raw = open(sys.argv[1]).read()
    dec = re.findall(r'"(?:ts|dur)":\d+(?:\.(\d+))?', raw)
    assert dec and all(len(x) <= 3 for x in dec), "ts/dur with more than ns precision"
    assert any(len(x) == 3 for x in dec), "no ns fractions at all"
    states = {e["name"] for e in ev if e["ph"] == "X"}
    assert {"hold GIL", "wait GIL"} <= states, states
    print("chrome json:", dict(ph), sorted(states))


def perfetto(argv):
    threads = int(argv[2]) if len(argv) > 2 else 3
    sys.argv = [sys.argv[0], argv[0], argv[1]]
    text = open(sys.argv[1]).read()
    # protoc prints fields it does not know by number: there must be none
    assert not re.search(r"^\s*\d+\s*[:{]", text, re.M), "unknown fields"
    packets = text.split("\npacket {")
    tracks, ntracks, begins = {}, 0, collections.Counter()
    depth = collections.Counter()
    flows_out, flows_in = collections.Counter(), collections.Counter()
    last_ts = {}
    for p in packets:
        ts = re.search(r"timestamp: (\d+)", p)
        seq = re.search(r"trusted_packet_sequence_id: (\d+)", p)
        if ts and seq:
            t, s = int(ts.group(1)), int(seq.group(1))
            assert t >= last_ts.get(s, 0), f"sequence {s} goes back in time at {t}"
            last_ts[s] = t
        if "track_descriptor" in p:
            ntracks += "thread {" in p
            continue
        m = re.search(r"type: (TYPE_\w+)\s+track_uuid: (\d+)", p)
        if not m:
            continue
        typ, track = m.groups()
        if typ == "TYPE_SLICE_BEGIN":
            depth[track] += 1
            begins[track] += 1
            assert depth[track] <= 2, f"track {track} nests deeper than GIL + off-CPU"
        elif typ == "TYPE_SLICE_END":
            depth[track] -= 1
            assert depth[track] >= 0, f"track {track}: END without BEGIN"
        for f in re.findall(r"\bflow_ids: (\d+)", p):
            flows_out[f] += 1
        for f in re.findall(r"terminating_flow_ids: (\d+)", p):
            flows_in[f] += 1
    assert ntracks == threads, ntracks
    assert all(v == 0 for v in depth.values()), dict(depth)
    assert flows_out and set(flows_out) == set(flows_in), "flows do not pair"
    assert max(flows_out.values()) == 1 and max(flows_in.values()) == 1
    x = sum(1 for e in json.load(open(sys.argv[2]))["traceEvents"] if e["ph"] == "X")
    assert sum(begins.values()) == x, f"{sum(begins.values())} slices vs {x} Chrome X events"
    print(f"perfetto: {len(packets)} packets, {x} slices, {len(flows_out)} flows, {ntracks} thread tracks")


if __name__ == "__main__":
    {"chrome": chrome, "perfetto": perfetto}[sys.argv[1]](sys.argv[2:])
