"""Prints line-table test vectors for pylines_check.c from the running
CPython (3.6+): for every code object of a few standard-library modules,
the table bytes and, for every instruction offset, the line CPython itself
gives (co_lines() from 3.10, dis.findlinestarts before)."""
import dis
import sys
import types

KIND = 1 if sys.version_info < (3, 10) else 2 if sys.version_info < (3, 11) else 3


def codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


def expected(co):
    if sys.version_info >= (3, 10):
        out = {}
        for start, end, line in co.co_lines():
            for off in range(start, end, 2):
                out[off] = -1 if line is None else line
        return out
    starts = dict(dis.findlinestarts(co))
    out, line = {}, co.co_firstlineno
    for ins in dis.get_instructions(co):
        line = starts.get(ins.offset, line)
        out[ins.offset] = line
    return out


def table(co):
    if sys.version_info >= (3, 10):
        return co.co_linetable
    return co.co_lnotab


import argparse, json, threading, socket, email.parser  # noqa: E401 (sources)
for mod in (dis, argparse, json.decoder, threading, socket, email.parser):
    src = open(mod.__file__.replace(".pyc", ".py")).read()
    top = compile(src, mod.__file__, "exec")
    for co in codes(top):
        pairs = " ".join("%d:%d" % kv for kv in sorted(expected(co).items()))
        print(KIND, co.co_firstlineno, table(co).hex() or "-", pairs)
