#!/bin/bash
# Debian's own /usr/bin/python3.11 (stripped, LTO-built, non-PIE, no debug
# symbols: PyEval_SaveThread and drop_gil inlined into os_stat, _Py_read,
# ...), traced symbol-free with `record -p`: an echo server beside a CPU
# thread (the convoy). Checked against an independent count: bpftrace on
# the same libc primitive (pthread_cond_signal on the GIL's two condition
# variables) in the same run must give exactly the trace's releases and
# acquisitions (not counting the signals glibc's pthread_cond_timedwait
# makes itself when a wait expires as it is signalled, probes/bpf/
# libc_caller.bpf.h: told here by their return address in libc, lib.sh
# libc_caller_bounds); and
# the trace shows the server's blocking releases and its long re-acquire
# waits (the convoy).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd bpftrace python3 readelf
PY=/usr/bin/python3.11
[ -x "$PY" ] || skip "needs Debian's python3.11 (apt-get install python3.11)"
readelf -S "$PY" | grep '\.symtab' > /dev/null && skip "$PY has a .symtab here: not the stripped build this test is about"
require_btf

mkfifo "$WORK/go"
"$PY" "$PYDIR/gated.py" "$WORK/go" "$PYDIR/convoy.py" 150 1 0.002 > "$WORK/app.out" &
app=$!
sleep 0.3
libc=$(awk '$6 ~ /\/libc\.so/ { print $6; exit }' "/proc/$app/maps")
"$GILSCOPE" record -v -p "$app" -o "$WORK/t.gst" 2> "$WORK/rec.err" &
rec=$!
read -r before after < <(libc_caller_bounds "$libc")
bpftrace -p "$app" -e "BEGIN { printf(\"ready\\n\"); }
  uprobe:$libc:pthread_cond_signal /pid == $app/ {
    \$ret = *(uint64 *)uptr(reg(\"sp\"));
    if (\$ret >= reg(\"ip\") - $before && \$ret < reg(\"ip\") + $after) { @from_libc = count(); }
    else { @s[arg0] = count(); } }" > "$WORK/bt.out" 2>&1 &
bt=$!
for _ in $(seq 200); do
  grep -q "recording" "$WORK/rec.err" && grep -q "ready" "$WORK/bt.out" && break
  sleep 0.1
done
grep -q "recording" "$WORK/rec.err" || { cat "$WORK/rec.err" >&2; kill $app; fail "record -p did not start"; }
grep -q "ready" "$WORK/bt.out" || { cat "$WORK/bt.out" >&2; kill $app; fail "bpftrace did not start"; }
echo go > "$WORK/go"
wait "$app" || fail "the workload failed"
wait "$rec" || { cat "$WORK/rec.err" >&2; fail "record failed"; }
wait "$bt" || true

gil=$(sed -n 's/.*GIL 0 at python3.11+\(0x[0-9a-f]*\) .*/\1/p' "$WORK/rec.err")
[ -n "$gil" ] || { cat "$WORK/rec.err" >&2; fail "record -v named no GIL"; }
grep -q "GIL found symbol-free" "$WORK/rec.err" || fail "not traced symbol-free"
# non-PIE: the link-time address is the runtime address
python3 - "$WORK/t.gst" "$WORK/bt.out" "$gil" <<'PY'
import os, re, sys
sys.path.insert(0, os.path.join(os.environ["GILSCOPE_SRC"], "tests/integration/python"))
import gstrace
d = gstrace.analyse(sys.argv[1])
gil = int(sys.argv[3], 16)
bt = {int(a): int(n) for a, n in re.findall(r"@s\[(\d+)\]: (\d+)", open(sys.argv[2]).read())}
rel_bt, acq_bt = bt.get(gil + 32, 0), bt.get(gil + 120, 0)
c = d["counts"]
from_libc = re.search(r"@from_libc: (\d+)", open(sys.argv[2]).read())
print("bpftrace: %d signals of gil->cond, %d of gil->switch_cond (%s from libc "
      "itself left out); trace: %d releases, %d acquisitions"
      % (rel_bt, acq_bt, from_libc.group(1) if from_libc else 0, c.get("release", 0),
         c.get("acquired", 0)))
assert rel_bt == c.get("release", 0) and acq_bt == c.get("acquired", 0), "counts differ"
assert d["end"]["total_lost"] == 0, "lost events"
blocking = d["hold_by_reason"].get("blocking", {}).get("n", 0)
long_waits = sum(t["after_blocking_long_waits"] for t in d["per_thread"].values())
print("blocking releases %d, re-acquire waits >= 1 ms (convoy) %d, forced releases %d"
      % (blocking, long_waits, d["hold_by_reason"].get("forced", {}).get("n", 0)))
assert blocking >= 300, "the server's recv/send releases are missing"
assert long_waits >= 10, "no convoy: re-acquire waits behind the CPU thread missing"
PY
echo "PASS"
