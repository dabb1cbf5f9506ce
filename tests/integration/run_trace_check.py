#!/usr/bin/env python3
"""Reads a gilscope native trace (probes/trace_format.h, docs/trace-format.md)
with nothing but struct, for the run_*.sh tests.

  run_trace_check.py TRACE summary     -> JSON: header fields, threads,
                                          END block, per-type event counts
  run_trace_check.py TRACE holds       -> checks no two threads hold the GIL
                                          at once (acquired .. release)
  run_trace_check.py TRACE match JSON  -> checks the trace's events against
                                          the counters `gilscope run --json`
                                          printed for the traced phase
Exit 1 with a message naming the offset on a malformed file."""
import json
import os
import struct
import sys

# the record layouts and event names have one home: python/gstrace.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))
from gstrace import BLK, BLK2, CHUNK, END, HDR, REC, THREAD  # noqa: E402
from gstrace import ENDT as END_T  # noqa: E402
from gstrace import NAMES as EV  # noqa: E402

TAG = 0x47530000


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC32C written from its definition, to check the writer's."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def die(msg):
    print("run_trace_check: " + msg, file=sys.stderr)
    sys.exit(1)


def parse(path):
    data = open(path, "rb").read()
    if len(data) < HDR.size:
        die("%s: %d bytes, shorter than the %d-byte header" % (path, len(data), HDR.size))
    h = HDR.unpack_from(data, 0)
    if h[0] != b"GILSCOPE":
        die("%s: offset 0: bad magic %r" % (path, h[0]))
    hdr = dict(version_major=h[1], version_minor=h[2], header_size=h[3], clock=h[4],
               source=h[5], runtime=h[6], pid=h[7], start_ns=h[8], policy=h[10],
               interval_us=h[11], check_ticks=h[12], flags=h[13],
               policy_name=h[14].rstrip(b"\0").decode(),
               command=h[15].rstrip(b"\0").decode(errors="replace"))
    off = h[3]
    blk = BLK2 if h[1] >= 2 else BLK
    if h[1] >= 2:
        hb = bytearray(data[:h[3]])
        stored = struct.unpack_from("<I", hb, 144)[0]
        hb[144:148] = b"\0\0\0\0"
        if crc32c(bytes(hb)) != stored:
            die("%s: offset 0: header checksum mismatch" % path)
    threads, records, end = {}, [], None
    seq = 0
    while off < len(data):
        if off + blk.size > len(data):
            die("%s: offset %d: truncated block header" % (path, off))
        btype, size = blk.unpack_from(data, off)[:2]
        if btype & 0xFFFF0000 != TAG:
            die("%s: offset %d: not a block (type 0x%x)" % (path, off, btype))
        p = off + blk.size
        if p + size > len(data):
            die("%s: offset %d: block of %d bytes runs past the end" % (path, off, size))
        if blk is BLK2:
            _, _, stored, bseq = BLK2.unpack_from(data, off)
            want = crc32c(data[p:p + size],
                          crc32c(BLK2.pack(btype, size, 0, bseq)))
            if stored != want or bseq != seq:
                die("%s: offset %d: block %d: checksum 0x%08x (computed 0x%08x), "
                    "sequence %d" % (path, off, seq, stored, want, bseq))
        seq += 1
        if btype == TAG | 1:
            tid, role, osp, gp, start, name = THREAD.unpack_from(data, p)
            threads[tid] = dict(tid=tid, role=role, os_prio=osp, gil_prio=gp,
                                name=name.rstrip(b"\0").decode(errors="replace"))
        elif btype == TAG | 2:
            tid, n, first, last = CHUNK.unpack_from(data, p)
            for i in range(n):
                records.append(REC.unpack_from(data, p + CHUNK.size + i * REC.size))
        elif btype == TAG | 3:
            e = END.unpack_from(data, p)
            end = dict(end_ns=e[0], total_records=e[1], total_lost=e[2],
                       nthreads=e[3], flags=e[4], threads=[])
            for i in range(e[3]):
                t = END_T.unpack_from(data, p + END.size + i * END_T.size)
                end["threads"].append(dict(tid=t[0], records=t[2], lost=t[3]))
        off = p + size
    return hdr, threads, records, end


def main():
    path, what = sys.argv[1], sys.argv[2]
    hdr, threads, records, end = parse(path)
    if what == "summary":
        counts = {}
        for r in records:
            name = EV.get(r[3], str(r[3]))
            counts[name] = counts.get(name, 0) + 1
        print(json.dumps(dict(header=hdr, threads=list(threads.values()),
                              end=end, records=len(records), counts=counts)))
    elif what == "holds":
        records.sort(key=lambda r: r[0])
        holder = None
        for r in records:
            if r[3] == 4:  # acquired
                if holder is not None and holder != r[1]:
                    die("%s: %d acquired at %d while %d held the GIL" % (path, r[1], r[0], holder))
                holder = r[1]
            elif r[3] == 5 and holder == r[1]:
                holder = None
        print("ok: %d records, holds exclusive" % len(records))
    elif what == "match":
        res = json.load(open(sys.argv[3]))
        if end is None:
            die("%s: no END block" % path)
        if end["total_lost"]:
            die("%s: %d events lost, counts cannot match" % (path, end["total_lost"]))
        per = {}
        for r in records:
            d = per.setdefault(r[1], dict(acquired=0, forced=0, interval=0,
                                          blocking=0, drop_requests=0))
            if r[3] == 4:
                d["acquired"] += 1
            elif r[3] == 5 and r[4] == 2:
                d["forced"] += 1
            elif r[3] == 5 and r[4] == 1:
                d["interval"] += 1
            elif r[3] == 5 and r[4] == 0:
                d["blocking"] += 1
            elif r[3] == 6:
                d["drop_requests"] += 1
        rt = res["runtime"]
        checks = [("acquisitions", sum(d["acquired"] for d in per.values()), rt["acquisitions"]),
                  ("forced_drops", sum(d["forced"] for d in per.values()), rt["forced_drops"]),
                  ("drop_requests", sum(d["drop_requests"] for d in per.values()), rt["drop_requests"]),
                  ("threads", len(threads), len(res["threads"]))]
        for t in res["threads"]:
            d = per.get(t["tid"], {})
            for key, field in (("acquired", "acquisitions"), ("forced", "releases_forced"),
                               ("interval", "releases_interval"),
                               ("blocking", "releases_blocking"),
                               ("drop_requests", "drop_requests")):
                checks.append(("%s %s" % (t["name"], field), d.get(key, 0), t[field]))
        bad = [c for c in checks if c[1] != c[2]]
        for name, got, want in bad:
            print("mismatch: %s: trace %d, json %d" % (name, got, want), file=sys.stderr)
        if bad:
            sys.exit(1)
        print("ok: %d counters match" % len(checks))
    else:
        die("unknown check " + what)


if __name__ == "__main__":
    main()
