"""Frame walking check (stacks_versions.sh): two threads spin in spin(),
whose loop is one line, so the GIL is forced off them there. The program
says where that is, from its own frames (sys._getframe), on the last line
of stdout as JSON: function, file and line; the trace's stacks at release
must name the same. Runs on CPython 2.7 and 3.6+ (stacks_py27.sh).

usage: stacks_where.py SECONDS
"""
import json
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
clock = getattr(time, "monotonic", time.time)  # 2.7 has no monotonic
where = {}


def spin(end):
    me = sys._getframe()
    where.update(function=me.f_code.co_name, file=me.f_code.co_filename,
                 line=me.f_lineno + 2)
    x = 0
    while clock() < end: x += 1  # noqa: E701 (one line on purpose)
    return x


end = clock() + SECONDS
threads = [threading.Thread(target=spin, args=(end,)) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(where))
