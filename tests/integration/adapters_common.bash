# Shared by the adapters_*.sh integration tests (sourced after lib.sh; not
# a test itself: ctest only runs *.sh). Builds the test workload and the
# counting driver against this build, and compares two adapters_count
# outputs: per-type catalog event counts exactly (after lost events), hold
# and wait p50/p90 within 5 % (or 2 us), and the clocks (CLOCK_MONOTONIC).

TOOLS="$GILSCOPE_SRC/tools"

# build_adapter_tools: $WORK/wl (workload) and $WORK/count (reader driver).
build_adapter_tools() {
	require_cmd cc pkg-config
	local inc="-I$GILSCOPE_SRC/runtime/include -I$GILSCOPE_SRC/probes"
	local rp="-Wl,-rpath,$GILSCOPE_BUILD/runtime"
	cc -O2 $inc "$GILSCOPE_SRC/tests/integration/adapters_workload.c" \
		-o "$WORK/wl" -L"$GILSCOPE_BUILD/runtime" -lgil $rp -lpthread ||
		fail "cannot build adapters_workload.c"
	local ctf="" bt=""
	if pkg-config --exists babeltrace2; then
		ctf="-DGILSCOPE_WITH_CTF=1"
		bt=$(pkg-config --libs babeltrace2)
	fi
	# shellcheck disable=SC2086
	cc -O2 $ctf $inc -I"$GILSCOPE_SRC/analysis/sources" -I"$GILSCOPE_SRC/lib" \
		"$GILSCOPE_SRC/tests/integration/adapters_count.c" \
		"$GILSCOPE_BUILD/analysis/libgilscope_analysis.a" \
		"$GILSCOPE_BUILD/probes/libgilscope_probes.a" \
		"$GILSCOPE_BUILD/lib/libgilscope_lib.a" \
		-L"$GILSCOPE_BUILD/runtime" -lgil $rp $bt -lm -lpthread \
		-o "$WORK/count" || fail "cannot build adapters_count.c"
}

# count KIND PATH OUT [FROM_NS TO_NS]: runs the driver, failing with its
# message; the counted events themselves go to OUT.ev (see skew).
count() {
	ADAPTERS_EVENTS_OUT="$3.ev" "$WORK/count" "$1" "$2" ${4:+"$4"} ${5:+"$5"} >"$3" ||
		fail "reading $2 as $1 failed"
}

# skew REF.txt OTHER.txt: the largest difference, in ns, between the times
# two tracers gave the same event (matched per thread and type, in order),
# after their median difference (a clock offset, if any). A tracer that
# stamps in the probe's trap (perf, LTTng, eBPF) and the recorder, which
# stamps after the trap returns, differ by a preemption in between: up to
# a time slice on a loaded machine. If every event moves by at most SKEW,
# every hold and wait moves by at most 2 SKEW, and so does each quantile:
# the agreement the figures must meet, whatever the load.
skew() {
	python3 - "$1.ev" "$2.ev" <<'PY'
import sys
def load(p):
    seqs = {}
    for l in open(p):
        tid, typ, ts = l.split()
        seqs.setdefault((tid, typ), []).append(int(ts))
    return seqs
a, b = load(sys.argv[1]), load(sys.argv[2])
d = sorted(y - x for k in a for x, y in zip(a[k], b.get(k, [])))
if not d:
    print(0)
else:
    mid = d[len(d) // 2]
    print(max(abs(x - mid) for x in d))
PY
}

# window NATIVE.json: the recorded phase as "FROM_NS TO_NS"
# (CLOCK_MONOTONIC): from the recorder's start (the trace header's
# start_ns: gs_phase_begin starts it before the phase's threads exist, and
# the previous phase's threads were joined before that) to the last native
# event plus 300 us. FROM is not the first event minus a margin: the solo
# phase's server releases and exits a few hundred us before the traced
# phase's first event, and a 300 us margin counted its thread_exit and
# release in ~1 run of 4. The end margin covers the recorder's stamps
# (taken after the probe fired for the other tracers); the next phase's
# threads start only after the recorder has stopped and the GIL is gone.
window() {
	json_get "$1" "'%d %d' % (d['trace']['start_ns'], d['window']['to_ns'] + 300000)"
}

# count_native: the reference every adapter is compared with, from
# $WORK/native.gst: its report ($WORK/native.json) and counts
# ($WORK/native.txt); sets FROM and TO, the window the other counts take.
count_native() {
	"$GILSCOPE" report --json -q "$WORK/native.gst" >"$WORK/native.json" ||
		fail "gilscope report on the native trace failed"
	read -r FROM TO < <(window "$WORK/native.json")
	count native "$WORK/native.gst" "$WORK/native.txt"
}

# report_compare NAME NATIVE.json TRACE: `gilscope report --json` of TRACE,
# restricted to the native trace's window, against NATIVE.json: the same
# acquisitions, handoffs, drop requests and hold/wait counts, and hold/wait
# p50/p90 within 5 % (or 2 us, or twice the largest timestamp skew that
# compare NAME measured).
report_compare() {
	local name=$1 ref=$2 trace=$3 out="$WORK/$1.report.json" from to start s=0
	[ -r "$WORK/$name.skew" ] && s=$(cat "$WORK/$name.skew")
	read -r from to < <(window "$ref")
	"$GILSCOPE" report --json -q "$trace" >"$out" ||
		fail "gilscope report $trace failed"
	start=$(json_get "$out" "d['trace']['start_ns']")
	"$GILSCOPE" report --json -q --window "$((from - start)):$((to - start))" \
		"$trace" >"$out" || fail "gilscope report --window on $trace failed"
	local k r g
	for k in "['runtime']['acquisitions']" "['runtime']['handoffs_attempted']" \
		 "['runtime']['handoffs_failed']" "['runtime']['drop_requests']" \
		 "['summary']['hold']['count']" "['summary']['wait']['count']"; do
		r=$(json_get "$ref" "d$k")
		g=$(json_get "$out" "d$k")
		[ "$r" = "$g" ] || fail "$name report: $k = $g, the recorder's $r"
	done
	for k in hold wait; do
		for q in p50 p90; do
			r=$(json_get "$ref" "d['summary']['$k']['$q']")
			g=$(json_get "$out" "d['summary']['$k']['$q']")
			awk -v r="$r" -v g="$g" -v s="$s" 'BEGIN { d = r - g; if (d < 0) d = -d;
				tol = 0.05 * r; if (tol < 2000) tol = 2000;
				if (tol < 2 * s) tol = 2 * s;
				exit !(d <= tol) }' ||
				fail "$name report: $k $q $g ns vs the recorder's $r ns (> 5 %, > 2 us and > twice the largest timestamp skew $s ns apart)"
		done
	done
	echo "$name: gilscope report agrees with the recorder's" \
	     "($(json_get "$out" "d['runtime']['acquisitions']") acquisitions," \
	     "hold p50 $(json_get "$out" "d['summary']['hold']['p50']") ns)" >&2
}

val() { awk -v k="$2" -v k2="${3:-}" '$1 == k && (k2 == "" || $2 == k2) { print $NF }' "$1"; }

# compare NAME REF.txt OTHER.txt: OTHER (from tracer NAME) against REF
# (the built-in recorder's view of the same run).
compare() {
	local name=$1 ref=$2 got=$3 t r g lost total_r=0 total_g=0
	lost=$(val "$got" lost)
	[ "$(val "$ref" lost)" = 0 ] ||
		fail "the built-in recorder lost events: $(val "$ref" lost)"
	for t in thread_start thread_exit acquire_request acquired release \
		 drop_request switch_wait_begin switch_wait_end blocking_begin \
		 blocking_end prio_boost; do
		r=$(val "$ref" events "$t")
		g=$(val "$got" events "$t")
		total_r=$((total_r + r))
		total_g=$((total_g + g))
		if [ "$lost" = 0 ] && [ "$r" != "$g" ]; then
			paste "$ref" "$got" >&2
			fail "$name: $t: $g events, the recorder has $r"
		fi
		[ "$g" -le "$r" ] || fail "$name: $t: $g events > recorder's $r"
	done
	# Exact counts per type are the check; the run only has to have
	# something to compare: every run these tests trace has threads that
	# start, take the GIL, block and exit. (No count floor: a 1 s convoy
	# made 62-90 events at load 29, thousands on a quiet machine.)
	for t in thread_start thread_exit acquire_request acquired release \
		 blocking_begin blocking_end; do
		[ "$(val "$ref" events "$t")" -gt 0 ] ||
			fail "nothing to compare: the recorder has no $t event ($total_r events)"
	done
	if [ "$lost" != 0 ]; then
		# Every missing event must be one the tracer reported lost.
		[ $((total_g + lost)) -ge "$total_r" ] ||
			fail "$name: $total_g events + $lost lost < recorder's $total_r"
		echo "$name: $lost events reported lost; $total_g + $lost >= $total_r" >&2
	fi
	local k s=0
	# Events lost by the tracer shift its sequences: no event-by-event
	# match, and its quantiles are of a different sample.
	if [ "$lost" = 0 ]; then
		s=$(skew "$ref" "$got") || fail "$name: cannot match events"
		echo "$s" >"$WORK/$name.skew"
		for k in hold_p50 hold_p90 wait_p50 wait_p90; do
			r=$(val "$ref" "$k")
			g=$(val "$got" "$k")
			# 5 %, but never less than 2 us (a uprobe hit costs the
			# traced thread 0.5-1 us, docs/tutorial-tracefs.md, which
			# moves the ends of a microsecond-long hold by more than
			# 5 %) nor than twice the largest skew (see skew()).
			awk -v r="$r" -v g="$g" -v s="$s" 'BEGIN { d = r - g; if (d < 0) d = -d;
				tol = 0.05 * r; if (tol < 2000) tol = 2000;
				if (tol < 2 * s) tol = 2 * s;
				exit !(r > 0 && d <= tol) }' ||
				fail "$name: $k $g ns vs the recorder's $r ns (> 5 %, > 2 us and > twice the largest timestamp skew $s ns apart)"
		done
	fi
	# Same clock: the first events are microseconds apart, not the
	# ~56 years a Unix-epoch offset would add.
	r=$(val "$ref" first_ts)
	g=$(val "$got" first_ts)
	awk -v r="$r" -v g="$g" 'BEGIN { d = r - g; if (d < 0) d = -d;
		exit !(d < 1e9) }' ||
		fail "$name: first timestamp $g vs the recorder's $r: not CLOCK_MONOTONIC"
	echo "$name agrees with the recorder: $total_g events" \
	     "(hold p50 $(val "$got" hold_p50) ns, wait p50 $(val "$got" wait_p50) ns," \
	     "largest timestamp skew $s ns)" >&2
}

# no_leftovers NAME: no uprobe event of group NAME and no tracing instance
# NAME remain (the helpers name both gilscope_PID).
no_leftovers() {
	local T=/sys/kernel/tracing
	if grep -q "^[pr]:$1/" "$T/uprobe_events" 2>/dev/null; then
		fail "uprobe events left behind: $(grep "^[pr]:$1/" "$T/uprobe_events")"
	fi
	if [ -e "$T/instances/$1" ]; then
		fail "tracing instance left behind: $T/instances/$1"
	fi
}
