#!/usr/bin/env python3
"""Reads a gilscope native trace (probes/trace_format.h) and prints facts the
eBPF tests check, as JSON: per-type event counts, hold/wait statistics,
handoffs, convoy waits. Independent of `gilscope report`, so the tests check
the recorder against a second reader.

Usage: gstrace.py TRACE [--tids-from OTHER_TRACE]
  (--tids-from: only the threads OTHER_TRACE has THREAD blocks for)
"""
import json
import struct
import sys

HDR = struct.Struct("<8sHHIIIIIQQIIII16s64s")
BLK = struct.Struct("<II")        # version 1
BLK2 = struct.Struct("<IIII")     # version 2: type, size, crc32c, seq
THREAD = struct.Struct("<IIiiQ32s")
CHUNK = struct.Struct("<IIQQ")
REC = struct.Struct("<QIHBBII")
END = struct.Struct("<QQQII")
ENDT = struct.Struct("<IIQQ")
PROBES = struct.Struct("<II")
SITE = struct.Struct("<QQII40s64s")
METHODS = {1: "symbol table", 2: "dynamic symbol", 3: "debug file",
           4: "debuginfod", 5: "DWARF inline site", 6: "symbol-free",
           7: "USDT note"}
REASONS = {0: "blocking", 1: "interval", 2: "forced", 3: "exit", 4: "unknown"}
NAMES = {1: "thread_start", 2: "thread_exit", 3: "acquire_request",
         4: "acquired", 5: "release", 6: "drop_request", 7: "switch_wait_begin",
         8: "switch_wait_end", 9: "blocking_begin", 10: "blocking_end",
         11: "prio_boost", 12: "sched_switch_out", 13: "sched_switch_in",
         14: "sched_wakeup", 15: "lost", 16: "stack"}


def read(path):
    data = open(path, "rb").read()
    h = HDR.unpack_from(data, 0)
    if h[0] != b"GILSCOPE":
        raise SystemExit("%s: not a gilscope trace" % path)
    hdr = dict(source=h[5], runtime=h[6], pid=h[7], interval_us=h[11],
               flags=h[13], policy=h[14].rstrip(b"\0").decode(),
               command=h[15].rstrip(b"\0").decode())
    off = h[3]
    blk = BLK2 if h[1] >= 2 else BLK
    threads, recs, end = {}, [], None
    hdr["probes"] = []
    last_ts = {}
    while off < len(data):
        btype, size = blk.unpack_from(data, off)[:2]
        off += blk.size
        p = data[off:off + size]
        if btype == 0x47530001:
            t = THREAD.unpack_from(p, 0)
            threads[t[0]] = dict(role=t[1], name=t[5].rstrip(b"\0").decode())
        elif btype == 0x47530002:
            tid, n, first, last = CHUNK.unpack_from(p, 0)
            for i in range(n):
                r = REC.unpack_from(p, CHUNK.size + i * REC.size)
                if r[1] != tid:
                    raise SystemExit("record of %d in chunk of %d" % (r[1], tid))
                if r[0] < last_ts.get(tid, 0):
                    raise SystemExit("thread %d out of order" % tid)
                last_ts[tid] = r[0]
                recs.append(r)
        elif btype == 0x47530003:
            e = END.unpack_from(p, 0)
            end = dict(total_records=e[1], total_lost=e[2], flags=e[4])
        elif btype == 0x47538004:  # PROBES (optional)
            n = PROBES.unpack_from(p, 0)[0]
            for i in range(n):
                v, fo, m, k, what, obj = SITE.unpack_from(p, PROBES.size + i * SITE.size)
                hdr["probes"].append(dict(
                    vaddr=v, file_offset=fo, method=METHODS.get(m, str(m)),
                    kind={1: "entry", 2: "return", 3: "usdt"}.get(k, str(k)),
                    what=what.rstrip(b"\0").decode(),
                    object=obj.rstrip(b"\0").decode()))
        elif btype & 0xffff8000 == 0x47538000:
            pass  # another optional block (STACK: code locations)
        else:
            raise SystemExit("bad block 0x%x at %d" % (btype, off))
        off += size
    recs.sort(key=lambda r: r[0])
    return hdr, threads, recs, end


def checker(label, facts):
    """check(cond, what) for a test's inline checks of FACTS (what
    analyse() printed): exits with FAIL LABEL: WHAT and the facts."""
    def check(cond, what):
        if not cond:
            sys.exit("FAIL %s: %s\n%s" % (label, what, json.dumps(facts, indent=1)))
    return check


def pct(v, q):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def analyse(path, only_tids=None):
    hdr, threads, recs, end = read(path)
    if only_tids is not None:
        recs = [r for r in recs if r[1] in only_tids]
        threads = dict((t, v) for t, v in threads.items() if t in only_tids)
    counts = {}
    holds, waits, after_blocking_waits = [], [], []
    holds_by_reason = {}
    acq_at, req_at, req_why = {}, {}, {}
    handoffs = failed = 0
    last_release = None  # (tid, waiters)
    # time from the oldest pending request of another thread to a forced
    # release: the switch interval as the waiter sees it
    pending = {}
    forced_after_request = []
    # the waiter's first wake-up after its request (its timed wait ending)
    wake_after_req, timer_wakes = {}, []
    # on-CPU part of each forced hold (from sched_switch in/out)
    oncpu_since, oncpu_acc, forced_oncpu = {}, {}, []
    acquirers = []
    per = {}
    def pt(tid):
        return per.setdefault(tid, dict(acquisitions=0, releases=0, blocking=0,
                                        forced=0, ab_waits=[]))
    for ts, tid, cpu, typ, a8, a0, a1 in recs:
        name = NAMES.get(typ, str(typ))
        counts[name] = counts.get(name, 0) + 1
        if name == "sched_wakeup" and tid in pending and wake_after_req.get(tid) is None:
            wake_after_req[tid] = ts - pending[tid]
        elif name == "sched_switch_in" and tid in oncpu_acc:
            oncpu_since[tid] = ts
        elif name == "sched_switch_out" and tid in oncpu_acc and tid in oncpu_since:
            oncpu_acc[tid] += ts - oncpu_since.pop(tid)
        if name == "acquire_request":
            req_at[tid] = ts
            pending[tid] = ts
            wake_after_req[tid] = None
            req_why[tid] = a8
        elif name == "acquired":
            pending.pop(tid, None)
            oncpu_acc[tid] = 0
            oncpu_since[tid] = ts
            acquirers.append(tid)
            pt(tid)["acquisitions"] += 1
            if tid in req_at:
                w = ts - req_at.pop(tid)
                waits.append(w)
                if req_why.get(tid) == 1:
                    after_blocking_waits.append(w)
                    pt(tid)["ab_waits"].append(w)
            acq_at[tid] = ts
            if last_release and last_release[1] > 0:
                handoffs += 1
                if last_release[0] == tid:
                    failed += 1
            last_release = None
        elif name == "release":
            if tid in acq_at:
                h = ts - acq_at.pop(tid)
                holds.append(h)
                holds_by_reason.setdefault(REASONS.get(a8, str(a8)), []).append(h)
            last_release = (tid, a0)
            pt(tid)["releases"] += 1
            if a8 == 0:
                pt(tid)["blocking"] += 1
            elif a8 == 2:
                pt(tid)["forced"] += 1
            others = [t for k, t in pending.items() if k != tid]
            if a8 == 2 and others:
                forced_after_request.append(ts - min(others))
                waiter = min((t, k) for k, t in pending.items() if k != tid)[1]
                if wake_after_req.get(waiter) is not None:
                    timer_wakes.append(wake_after_req[waiter])
            if a8 == 2 and tid in oncpu_acc:
                acc = oncpu_acc.pop(tid)
                if tid in oncpu_since:
                    acc += ts - oncpu_since.pop(tid)
                forced_oncpu.append(acc)
            else:
                oncpu_acc.pop(tid, None)
                oncpu_since.pop(tid, None)
    # consecutive acquisitions by the same thread among CPU-bound threads
    switches = sum(1 for a, b in zip(acquirers, acquirers[1:]) if a != b)
    us = lambda v: None if v is None else v / 1000.0
    return dict(header=hdr, end=end, threads=len(threads), counts=counts,
                holds=len(holds), hold_p50_us=us(pct(holds, .5)),
                hold_p90_us=us(pct(holds, .9)),
                waits=len(waits), wait_p50_us=us(pct(waits, .5)),
                wait_p90_us=us(pct(waits, .9)),
                after_blocking_waits=len(after_blocking_waits),
                after_blocking_wait_p50_us=us(pct(after_blocking_waits, .5)),
                forced_after_request=len(forced_after_request),
                forced_after_request_p50_us=us(pct(forced_after_request, .5)),
                hold_p25_us=us(pct(holds, .25)),
                waiter_timer_wakes=len(timer_wakes),
                waiter_timer_wake_p50_us=us(pct(timer_wakes, .5)),
                forced_hold_oncpu_p50_us=us(pct(forced_oncpu, .5)),
                handoffs=handoffs, failed_handoffs=failed,
                acquisitions=len(acquirers), switches=switches,
                hold_by_reason={k: dict(n=len(v), p25_us=us(pct(v, .25)),
                                        p50_us=us(pct(v, .5)),
                                        p90_us=us(pct(v, .9)))
                                for k, v in holds_by_reason.items()},
                per_thread=dict((str(t), dict(
                    name=threads.get(t, {}).get("name", ""),
                    acquisitions=v["acquisitions"], releases=v["releases"],
                    blocking_releases=v["blocking"], forced_releases=v["forced"],
                    after_blocking_waits=len(v["ab_waits"]),
                    after_blocking_wait_p50_us=us(pct(v["ab_waits"], .5)),
                    after_blocking_wait_p90_us=us(pct(v["ab_waits"], .9)),
                    # the convoy: re-acquires that waited behind a holder
                    after_blocking_long_waits=len([x for x in v["ab_waits"] if x >= 1000000]),
                    after_blocking_long_wait_p50_us=us(pct(
                        [x for x in v["ab_waits"] if x >= 1000000], .5))))
                    for t, v in per.items()),
                thread_names=sorted(t["name"] for t in threads.values()))


if __name__ == "__main__":
    tids = None
    if len(sys.argv) > 3 and sys.argv[2] == "--tids-from":
        tids = set(read(sys.argv[3])[1])
    print(json.dumps(analyse(sys.argv[1], tids), indent=1, sort_keys=True))
