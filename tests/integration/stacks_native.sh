#!/usr/bin/env bash
# record --stacks --native on real CPython 3.11 (pyenv, with symbols) and a
# container-style stripped copy of it. Checked against what the code
# guarantees, whatever the scheduling: every native stack starts at the
# probed function; a sleeping thread's re-acquire goes through
# PyEval_RestoreThread -> take_gil and its release through
# PyEval_SaveThread -> drop_gil (the caller a frame-pointer walk misses at
# a function's entry is there); on the stripped copy no frame carries a
# name that is not an exported function of the object it names; top
# --native shows the same stacks per thread; on 2.7, native stacks alone.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/python_copy.bash"
require_root
PY=$(find_python 3.11)

cat >"$WORK/app.py" <<'PY'
import ctypes, threading, time
libc = ctypes.CDLL(None)
def name(n):
    libc.prctl(15, n.encode(), 0, 0, 0)  # PR_SET_NAME
def sleeper():
    name("sleeper")
    for _ in range(60):
        time.sleep(0.002)
def cpu():
    name("cpu")
    n, end = 0, time.monotonic() + 1.0
    while time.monotonic() < end:
        n += 1
ts = [threading.Thread(target=sleeper), threading.Thread(target=cpu)]
[t.start() for t in ts]
[t.join() for t in ts]
PY

check_trace() { # TRACE LABEL
	local t=$1 k
	for k in hold wait; do
		"$GILSCOPE" report --folded "$k" "$t" >"$WORK/$k.folded" || fail "$2: report --folded $k"
	done
}

# 1. pyenv 3.11, symbols in .symtab: take_gil/drop_gil probes.
"$GILSCOPE" record --stacks --native -o "$WORK/a.gst" -- "$PY" "$WORK/app.py" 2>"$WORK/rec.err" ||
	{ cat "$WORK/rec.err"; fail "record --stacks --native"; }
grep -q ' [1-9][0-9]* native stacks' "$WORK/rec.err" || { cat "$WORK/rec.err"; fail "no native stacks recorded"; }
check_trace "$WORK/a.gst" pyenv
LIB=libpython3.11.so.1.0
# every line with native frames ends in the probed function
awk -v lib="($LIB)" 'index($0, lib) { sub(/ [0-9]+$/, ""); n = split($0, f, ";");
	if (f[n] != "take_gil " lib && f[n] != "drop_gil " lib) { print; bad = 1 } }
	END { exit bad }' "$WORK/wait.folded" "$WORK/hold.folded" ||
	fail "a native stack does not start at take_gil/drop_gil"
grep -q "^sleeper;.*sleeper ($WORK/app.py:8);PyEval_RestoreThread ($LIB);take_gil ($LIB) [0-9]" "$WORK/wait.folded" ||
	fail "the sleeper's waits are not under time.sleep -> PyEval_RestoreThread -> take_gil"
grep -q "^sleeper;.*sleeper ($WORK/app.py:8);PyEval_SaveThread ($LIB);drop_gil ($LIB) [0-9]" "$WORK/hold.folded" ||
	fail "the sleeper's holds are not under time.sleep -> PyEval_SaveThread -> drop_gil"
# folded sums are not changed by the native split: equal to the JSON totals
"$GILSCOPE" report --json "$WORK/a.gst" >"$WORK/r.json"
python3 "$GILSCOPE_SRC/tests/integration/python/folded_totals.py" "$WORK/r.json" \
	"$WORK/hold.folded" "$WORK/wait.folded" || fail "folded sums differ from the report's totals"

# top --stacks --native: each thread's last request ends in take_gil and
# its last release in drop_gil (the probed functions), with their callers.
"$GILSCOPE" top --stacks --native --json --no-hist -i 0.2 -- "$PY" "$WORK/app.py" >"$WORK/top.json" 2>"$WORK/top.err" ||
	{ cat "$WORK/top.err"; fail "top --stacks --native"; }
python3 - "$WORK/top.json" <<'PY' || fail "top --native: $(tail -1 "$WORK/top.json")"
import json, sys
seen = 0
for line in open(sys.argv[1]):
    for th in json.loads(line)["threads"]:
        for key, fn in (("native_asked_in", "take_gil"), ("native_released_in", "drop_gil")):
            v = th[key]
            if v == "-":
                continue
            assert v == fn or v.endswith(";" + fn), (key, v)
            seen += 1
assert seen, "no native frames in any interval"
PY

# 2. A stripped copy (no .symtab): frames in it are exported functions
# (named only inside a .dynsym symbol's extent) or bare addresses.
python_copy "$PY" "$WORK/s" none
"$GILSCOPE" record --stacks --native -o "$WORK/s.gst" -- "$WORK/s/bin/python3.11" "$WORK/app.py" 2>"$WORK/srec.err" ||
	{ cat "$WORK/srec.err"; fail "record --native on the stripped copy"; }
grep -q ' [1-9][0-9]* native stacks' "$WORK/srec.err" || { cat "$WORK/srec.err"; fail "no native stacks (stripped)"; }
check_trace "$WORK/s.gst" stripped
nm -D --defined-only "$WORK/s/lib/$LIB" | awk '{ print $NF }' | sort -u >"$WORK/dynsym"
cat "$WORK/wait.folded" "$WORK/hold.folded" | sed 's/ [0-9]*$//' | tr ';' '\n' |
	grep -F " ($LIB)" | sed "s/ ($LIB)\$//" | sort -u >"$WORK/sframes"
[ -s "$WORK/sframes" ] || fail "no native frame in the stripped libpython"
while IFS= read -r f; do
	case "$f" in
	0x*) ;;
	*) grep -qx -- "$f" "$WORK/dynsym" || fail "stripped: '$f' is no exported function of $LIB" ;;
	esac
done <"$WORK/sframes"
# 3. CPython 2.7 (no Python frames: tutorial-stacks.md, "CPython 2.7"):
# native stacks alone, every request at a call of PyThread_acquire_lock in
# ceval.c (the probes sit at those call sites: docs/probe-placement.md), so
# a wait's innermost frame is the caller: PyEval_EvalFrameEx at the check
# interval (its re-take, requested at the release), PyEval_RestoreThread
# after time.sleep, PyEval_AcquireThread / PyEval_InitThreads as a thread
# starts.
PY27=$(find_python 2.7)
cat >"$WORK/app27.py" <<'PY'
import threading, time
def sleeper():
    for _ in range(60):
        time.sleep(0.002)
def cpu():
    n, end = 0, time.time() + 0.3
    while time.time() < end:
        n += 1
ts = [threading.Thread(target=sleeper), threading.Thread(target=cpu)]
[t.start() for t in ts]
[t.join() for t in ts]
PY
"$GILSCOPE" record --native -o "$WORK/p27.gst" -- "$PY27" "$WORK/app27.py" 2>"$WORK/rec27.err" ||
	{ cat "$WORK/rec27.err"; fail "record --native (2.7)"; }
"$GILSCOPE" report --folded wait "$WORK/p27.gst" >"$WORK/wait27.folded" || fail "report --folded wait (2.7)"
L27=libpython2.7.so.1.0
awk -v lib="($L27)" '{ sub(/ [0-9]+$/, ""); n = split($0, a, ";");
	if (a[n] !~ /^PyEval_(EvalFrameEx|RestoreThread|AcquireThread|InitThreads) / || index(a[n], lib) == 0) { print; bad = 1 } }
	END { exit bad }' "$WORK/wait27.folded" ||
	fail "2.7: a wait's native stack does not start at a GIL call site of ceval.c"
grep -q ";PyEval_RestoreThread ($L27) [1-9]" "$WORK/wait27.folded" ||
	fail "2.7: no wait at PyEval_RestoreThread's call of PyThread_acquire_lock"

echo "PASS: native stacks on pyenv 3.11 and a stripped copy ($(wc -l <"$WORK/sframes") frames in the stripped libpython)"
