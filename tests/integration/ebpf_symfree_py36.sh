#!/bin/bash
# Symbol-free `record -p` on a stripped CPython 3.6 (docs/symbol-free.md,
# "3.6 under -p"). 3.6 has no _PyRuntime and its GIL is a set of statics no
# exported symbol points at, so gil_cond and switch_cond are read off the
# code of drop_gil, which the exported PyEval_SaveThread calls. On a
# container-style stripped copy of the pyenv 3.6 (python_copy.bash):
#  - the link-time addresses found equal gil_cond / switch_cond in the
#    original's .symtab;
#  - a running two-thread countdown attached with -p: per thread, the
#    acquisitions, requests and releases equal bpftrace's count of take_gil
#    entries/returns and drop_gil entries (the original's .symtab offsets,
#    probed on the copy) over the part of the run both cover, and balance;
#  - six threads switching every 1 us, attached with -p: per thread, as
#    many releases as acquisitions (+-1 at the ends). glibc's timed wait,
#    expiring just as it is signalled, signals the GIL's condition itself
#    (probes/bpf/libc_caller.bpf.h), several times a second at that rate;
#    counted as releases, those made this fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/python_copy.bash"
require_root
require_cmd python3 bpftrace readelf
require_btf

orig=$(find_python 3.6)
python_copy "$orig" "$WORK/py36" none
py="$WORK/py36/bin/$(basename "$(readlink -f "$orig")")"
# symbol NAME of the original libpython, as 0x<hex> without leading zeros
sym() {
  local hex
  hex=$(readelf -sW "$PYCOPY_ORIG_LIB" | awk -v n="$1" '$8 == n && !k++ { print $2 }')
  [ -n "$hex" ] || fail "$PYCOPY_ORIG_LIB: no $1 in its .symtab"
  printf '0x%x' "0x$hex"
}
take=$(sym take_gil); drop=$(sym drop_gil)
want_cond=$(sym gil_cond); want_switch=$(sym switch_cond)

"$py" "$PYDIR/countdown.py" 2000000000 2 &
target=$!
# --unsafe: bpftrace cannot check instruction boundaries in a stripped file
bpftrace --unsafe -p "$target" -e "BEGIN { printf(\"ready\\n\"); }
  uprobe:$PYCOPY_LIB:$take /pid == $target/ { printf(\"%llu %d %d q\\n\", nsecs, pid, tid); }
  uretprobe:$PYCOPY_LIB:$take /pid == $target/ { printf(\"%llu %d %d a\\n\", nsecs, pid, tid); }
  uprobe:$PYCOPY_LIB:$drop /pid == $target/ { printf(\"%llu %d %d r\\n\", nsecs, pid, tid); }" \
  > "$WORK/bt.log" 2>&1 &
bt=$!
stop_all() {
  kill -INT "$bt" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$bt" 2>/dev/null || break; sleep 0.1; done
  kill "$bt" "$target" 2>/dev/null || true
  wait "$bt" "$target" 2>/dev/null || true
}
for _ in $(seq 300); do grep -q ready "$WORK/bt.log" && break; sleep 0.1; done
grep -q ready "$WORK/bt.log" || { cat "$WORK/bt.log" >&2; stop_all; fail "bpftrace did not start"; }
"$GILSCOPE" record -v -p "$target" -d 2 -o "$WORK/t.gst" 2> "$WORK/rec.err" \
  || { cat "$WORK/rec.err" >&2; stop_all; fail "record -p on the stripped 3.6 failed"; }
stop_all

grep -q "GIL found symbol-free" "$WORK/rec.err" || fail "not traced symbol-free"
line=$(grep "GIL 0 at" "$WORK/rec.err" || true)
got_cond=$(sed -n 's/.*gil_cond \(0x[0-9a-f]*\) and switch_cond.*/\1/p' <<< "$line")
got_switch=$(sed -n 's/.*switch_cond \(0x[0-9a-f]*\) (link time).*/\1/p' <<< "$line")
[ "$got_cond" = "$want_cond" ] && [ "$got_switch" = "$want_switch" ] \
  || { cat "$WORK/rec.err" >&2; fail "found gil_cond ${got_cond:-?} switch_cond ${got_switch:-?}; .symtab: $want_cond $want_switch"; }
echo "3.6 stripped: gil_cond $got_cond, switch_cond $got_switch (= .symtab)"
python3 "$PYDIR/thread_balance.py" "$WORK/t.gst" "3.6 stripped -p" || fail "unbalanced"
python3 "$PYDIR/bpftrace_window.py" "$WORK/t.gst" "$WORK/bt.log" \
  || fail "per-thread counts differ from bpftrace's"

GS_SWITCH_INTERVAL=0.000001 "$py" "$PYDIR/countdown.py" 6000000000 6 &
target=$!
"$GILSCOPE" record -p "$target" -d 2 -o "$WORK/fast.gst" 2> "$WORK/fast.err" \
  || { cat "$WORK/fast.err" >&2; kill "$target"; fail "record -p (1 us interval) failed"; }
kill "$target"; wait "$target" 2>/dev/null || true
python3 "$PYDIR/thread_balance.py" "$WORK/fast.gst" "3.6 stripped -p, 1 us interval" \
  || fail "unbalanced at a 1 us switch interval"
echo "PASS"
