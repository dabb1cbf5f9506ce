#!/usr/bin/env bash
# tools/bpftrace/*.bt against the real thing. libgil scripts: the counts
# bpftrace reports equal the built-in recorder's for the same run (releases
# in gilhold.bt, waits in gilwait.bt, handoffs and failed handoffs in
# gilhandoff.bt with the legacy policy, blocking calls in gilconvoy.bt,
# waits in gilwaitfor.bt). CPython scripts: pygil3*.bt on 3.11 and
# pygil27.bt on 2.7 attach and report holds, waits and handoffs of a
# two-thread CPU-bound program.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapters_common.bash"
require_root
require_cmd bpftrace
build_adapter_tools
BT="$GILSCOPE_SRC/tools/bpftrace"
# USDT probes attached by path fire in every process that maps the file,
# and other tests run libgil programs at the same time: give this test's
# workload a private copy of libgil (its own inode) to attach to.
mkdir -p "$WORK/lib"
cp "$(readlink -f "$LIBGIL")" "$WORK/lib/libgil.so.0"
LIB="$WORK/lib/libgil.so.0"
cc -O2 -I"$GILSCOPE_SRC/runtime/include" -I"$GILSCOPE_SRC/probes" \
	"$GILSCOPE_SRC/tests/integration/adapters_workload.c" -o "$WORK/wl" \
	-L"$WORK/lib" -l:libgil.so.0 -Wl,-rpath,"$WORK/lib" -lpthread ||
	fail "cannot build adapters_workload.c against the copy"
# (ldd's output captured first: grep -q closing the pipe early would make
# pipefail report ldd's SIGPIPE.)
deps=$(ldd "$WORK/wl")
grep -q "$WORK/lib/libgil.so.0" <<<"$deps" ||
	fail "the workload does not use the private libgil copy: $deps"

# run_bt SCRIPT TARGET OUT CMD...: starts bpftrace, waits for its
# "Tracing ..." line (all probes attached), runs CMD, stops bpftrace.
run_bt() {
	local script=$1 target=$2 out=$3 bp
	shift 3
	bpftrace "$BT/$script" "$target" >"$out" 2>"$out.err" &
	bp=$!
	for _ in $(seq 150); do
		grep -q '^Tracing' "$out" 2>/dev/null && break
		kill -0 "$bp" 2>/dev/null || break
		sleep 0.2
	done
	grep -q '^Tracing' "$out" ||
		{ cat "$out.err" >&2; fail "$script did not start"; }
	"$@" || { stop_bt "$bp"; fail "traced command failed: $*"; }
	stop_bt "$bp"
	local rc=0
	wait "$bp" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$out.err" >&2; tail -5 "$out" >&2
		fail "$script failed (exit $rc)"; }
}
# stop_bt PID: Ctrl-C for bpftrace. 0.17 can miss a SIGINT that arrives
# while no event is coming (it sleeps in epoll_wait), so repeat it.
stop_bt() {
	local _i
	for _ in $(seq 10); do
		kill -INT "$1" 2>/dev/null || return 0
		for _i in $(seq 20); do
			sleep 0.1
			kill -0 "$1" 2>/dev/null || return 0
		done
	done
	kill -KILL "$1" 2>/dev/null
	fail "bpftrace (pid $1) did not stop on SIGINT"
}

# map_total OUT MAP: sum of the values of "@MAP[...]: N" lines.
map_total() {
	awk -v m="@$2[" 'index($0, m) == 1 { s += $NF } END { print s + 0 }' "$1"
}
# hist_total OUT MAP: sum of the counts of every histogram of MAP.
hist_total() {
	awk -v m="@$2[" -v m2="@$2:" '
		index($0, m) == 1 || index($0, m2) == 1 { in_h = 1; next }
		/^@/ || /^$/ { in_h = 0 }
		in_h && /^\[/ { sub(/^\[[^])]*[])] */, ""); s += $1 }
		END { print s + 0 }' "$1"
}
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: bpftrace says $2, the recorder $3"
	echo "$1: $2 (bpftrace) = $3 (recorder)" >&2
}

# bt_libgil SCRIPT NAME [WORKLOAD OPTIONS]: the workload (2 threads, 800 ms)
# under SCRIPT, recording $WORK/NAME.gst, counted into $WORK/NAME.txt;
# SCRIPT's output in $WORK/NAME.out.
bt_libgil() {
	local script=$1 name=$2
	shift 2
	run_bt "$script" "$LIB" "$WORK/$name.out" \
		"$WORK/wl" "$@" -t 2 -n 1 -d 800 -o "$WORK/$name.gst"
	count native "$WORK/$name.gst" "$WORK/$name.txt"
}

bt_libgil gilhold.bt hold
expect_eq "gilhold releases" "$(map_total "$WORK/hold.out" releases)" \
	"$(val "$WORK/hold.txt" events release)"
expect_eq "gilhold holds" "$(hist_total "$WORK/hold.out" hold_us)" \
	"$(val "$WORK/hold.txt" events release)"

bt_libgil gilwait.bt wait
expect_eq "gilwait waits" "$(hist_total "$WORK/wait.out" wait_us)" \
	"$(val "$WORK/wait.txt" events acquired)"

bt_libgil gilhandoff.bt handoff -p legacy
read -r ho hf < <(awk '/^total handoffs/ { gsub(",", ""); print $3, $5 }' \
	"$WORK/handoff.out")
expect_eq "gilhandoff handoffs" "$ho" "$(val "$WORK/handoff.txt" handoffs)"
expect_eq "gilhandoff failed" "$hf" "$(val "$WORK/handoff.txt" handoffs_failed)"
[ "$hf" -gt 0 ] || fail "legacy policy: no failed handoff seen"

bt_libgil gilconvoy.bt convoy
expect_eq "gilconvoy calls" "$(map_total "$WORK/convoy.out" calls)" \
	"$(val "$WORK/convoy.txt" events blocking_end)"

bt_libgil gilwaitfor.bt waitfor
expect_eq "gilwaitfor waits" "$(map_total "$WORK/waitfor.out" waits)" \
	"$(val "$WORK/waitfor.txt" events acquired)"

# Real CPython: two CPU-bound threads and one sleeping thread.
cat >"$WORK/threads.py" <<'PY'
import threading, time
stop = [False]
def spin():
    n = 0
    while not stop[0]:
        n += 1
def io():
    while not stop[0]:
        time.sleep(0.001)
ts = [threading.Thread(target=spin) for _ in range(2)]
ts.append(threading.Thread(target=io))
for t in ts:
    t.start()
time.sleep(1.0)
stop[0] = True
for t in ts:
    t.join()
PY
PY3=$(find_python 3.11)
LIBPY3=$(ls "$(dirname "$PY3")"/../lib/libpython3.11.so.1.0)
run_bt pygil3lat.bt "$LIBPY3" "$WORK/py3lat.out" "$PY3" "$WORK/threads.py"
n=$(hist_total "$WORK/py3lat.out" hold_us)
[ "$n" -gt 20 ] || fail "pygil3lat.bt: only $n holds seen"
threads=$(grep -c '^@hold_us\[' "$WORK/py3lat.out")
[ "$threads" -ge 3 ] || fail "pygil3lat.bt: holds of $threads threads, want 3+"
run_bt pygil3handoff.bt "$LIBPY3" "$WORK/py3h.out" "$PY3" "$WORK/threads.py"
ho=$(awk '/^total handoffs/ { gsub(",", ""); print $3 }' "$WORK/py3h.out")
[ "${ho:-0}" -gt 10 ] || fail "pygil3handoff.bt: ${ho:-no} handoffs"
run_bt pygil3convoy.bt "$LIBPY3" "$WORK/py3c.out" "$PY3" "$WORK/threads.py"
[ "$(map_total "$WORK/py3c.out" calls)" -gt 10 ] ||
	fail "pygil3convoy.bt: no blocking calls seen"
echo "CPython 3.11: $n holds, $ho handoffs" >&2

PY2=$(find_python 2.7)
LIBPY2=$(ls "$(dirname "$PY2")"/../lib/libpython2.7.so.1.0)
run_bt pygil27.bt "$LIBPY2" "$WORK/py27.out" "$PY2" "$WORK/threads.py"
n=$(hist_total "$WORK/py27.out" hold_us)
read -r ho hf < <(awk '/^handoffs/ { gsub(",", ""); print $2, $NF }' \
	"$WORK/py27.out")
[ "$n" -gt 100 ] || fail "pygil27.bt: only $n holds seen"
[ "${ho:-0}" -gt 0 ] || fail "pygil27.bt: no handoffs seen"
echo "CPython 2.7: $n holds, $ho handoffs, $hf failed" >&2
echo "PASS"
