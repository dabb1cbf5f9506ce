#!/bin/bash
# Debian's own /usr/bin/python3.11: stripped (no .symtab), LTO-built (drop_gil
# and PyEval_SaveThread inlined into their callers), no debug file. An echo
# server beside a CPU thread (docs/examples/echo_service.py) recorded with
# `gilscope record -- /usr/bin/python3.11 ...` (symbol-free placement) must
# show the server thread's blocking releases, its re-acquire waits behind
# the CPU thread, and the convoy finding. And it must agree, per thread and
# exactly, with an independent count: bpftrace counting libc's
# pthread_cond_signal per thread and condition variable in the same
# process. CPython's drop_gil signals gil->cond once per release and
# take_gil signals gil->switch_cond once per acquisition (3.11:
# Python/ceval_gil.h), so one condition variable must count each thread's
# releases and another its acquisitions. Not counted: the signals glibc's
# pthread_cond_timedwait makes itself (a wait that expired as it was
# signalled passes the signal on, probes/bpf/libc_caller.bpf.h), told here
# by their return address in libc (lib.sh, libc_caller_bounds).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd bpftrace python3 readelf
require_btf
PY=/usr/bin/python3.11
[ -x "$PY" ] || skip "needs Debian's $PY (apt-get install python3.11)"
readelf -S "$PY" | grep '\.symtab' > /dev/null && skip "$PY has a .symtab here: not the stripped build this test is about"
LIBC=$(readlink -f "$(ldd "$PY" | awk '/libc\.so/ { print $3 }')")
[ -f "$LIBC" ] || fail "no libc found for $PY"

read -r before after < <(libc_caller_bounds "$LIBC")
cat > "$WORK/signals.bt" <<BT
uprobe:$LIBC:pthread_cond_signal /curtask->real_parent->tgid == cpid/ {
  \$ret = *(uint64 *)uptr(reg("sp"));
  if (\$ret >= reg("ip") - $before && \$ret < reg("ip") + $after) { @from_libc = count(); }
  else { @sig[tid, arg0] = count(); }
}
BT
# bpftrace runs gilscope (the script execs it), which runs python: python's
# threads are the ones whose parent is bpftrace's child (the echo client,
# python's own child, is not)
cat > "$WORK/run.sh" <<SH
exec "$GILSCOPE" record -v -o "$WORK/deb.gst" -- "$PY" \
  "$GILSCOPE_SRC/docs/examples/echo_service.py" 3 1
SH
bpftrace -q "$WORK/signals.bt" -c "/bin/bash $WORK/run.sh" > "$WORK/bt.out" 2> "$WORK/bt.err" \
  || { cat "$WORK/bt.err" "$WORK/bt.out" >&2; fail "bpftrace / gilscope record failed"; }
if grep -q "exited with status" "$WORK/bt.out" "$WORK/bt.err"; then
  cat "$WORK/bt.err" "$WORK/bt.out" >&2; fail "the echo service failed"
fi
grep -q "written to $WORK/deb.gst" "$WORK/bt.out" "$WORK/bt.err" \
  || { cat "$WORK/bt.err" "$WORK/bt.out" >&2; fail "gilscope record did not finish"; }
python3 "$PYDIR/gstrace.py" "$WORK/deb.gst" > "$WORK/deb.json"
"$GILSCOPE" report "$WORK/deb.gst" > "$WORK/deb.report"
grep -q "^  \* convoy: " "$WORK/deb.report" \
  || { cat "$WORK/deb.report" "$WORK/bt.out" "$WORK/bt.err" >&2; fail "no convoy finding"; }

python3 - "$WORK/deb.json" "$WORK/bt.out" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
sig = {}
for tid, cond, n in re.findall(r"@sig\[(\d+), (\d+)\]: (\d+)", open(sys.argv[2]).read()):
    sig.setdefault(int(cond), {})[tid] = int(n)
per = d["per_thread"]
def check(cond, what):
    if not cond:
        sys.exit("FAIL: %s\nper thread: %s\nsignals: %s" % (what, json.dumps(per, indent=1), sig))
methods = set(p["method"] for p in d["header"]["probes"])
check("symbol-free" in methods, "placement %s, expected symbol-free" % methods)
def matches(field):
    return [c for c, by in sig.items()
            if all(by.get(t, 0) == v[field] for t, v in per.items())]
rel, acq = matches("releases"), matches("acquisitions")
check(rel, "no condition variable signalled once per release on every thread")
check(acq, "no condition variable signalled once per acquisition on every thread")
# the server: the thread besides the main one with the most blocking
# releases (the main thread's are start-up imports; the CPU thread has few)
main = str(d["header"]["pid"])
server = max((v for t, v in per.items() if t != main),
             key=lambda v: v["blocking_releases"])
check(server["blocking_releases"] >= 100, "server: %d blocking releases" % server["blocking_releases"])
check(server["after_blocking_long_waits"] >= 20,
      "server: %d re-acquires waited >= 1 ms" % server["after_blocking_long_waits"])
from_libc = re.search(r"@from_libc: (\d+)", open(sys.argv[2]).read())
print("Debian python3.11 (symbol-free): per-thread releases = signals on 0x%x, "
      "acquisitions = signals on 0x%x, for %d threads (%s; %s signals from "
      "libc itself left out); server: %d blocking releases, %d re-acquire waits "
      ">= 1 ms (median %.2f ms)"
      % (rel[0], acq[0], len(per),
         ", ".join("%s %d/%d" % (t, v["acquisitions"], v["releases"]) for t, v in per.items()),
         from_libc.group(1) if from_libc else 0,
         server["blocking_releases"], server["after_blocking_long_waits"],
         (server["after_blocking_long_wait_p50_us"] or 0) / 1000.0))
PY
