#!/usr/bin/env bash
# Each tracing helper killed with SIGKILL (no clean-up can run) leaves its
# kernel and file-system state behind; the next run of the helper finds
# what belongs to dead owners, removes it and says so -- and never touches
# a live run's (docs/reliability.md, "Clean-up after a killed helper").
#   gilscope-tracefs: tracing instance and uprobe group gilscope_PID
#   gilscope-perf:    uprobe group gilscope_PID, its gilscope-perf.PID.* dir;
#                     with -p its sdt_gil probes, the sdt_gil lock released
#   gilscope-lttng:   its session daemon and gilscope-lttng.PID.* dir
#   eBPF tools:       libbpf's legacy uprobe events (uprobes/libbpf_PID_*);
#                     everything else is fd-owned and gone with the process
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapters_common.bash"
require_root
require_cmd trace-cmd perf lttng lttng-sessiond readelf
[ -e "$GILSCOPE_BUILD/probes/liblttng-gil.so" ] ||
	skip "built without LTTng (GILSCOPE_WITH_LTTNG=OFF)"
build_adapter_tools
T=/sys/kernel/tracing
export TMPDIR="$WORK"   # the helpers' directories, private to this test

# start_killed HELPER_ARGS...: starts a helper on a 20 s workload, waits
# until it has set up (WAIT_FOR exists), then SIGKILLs it and its workload.
# (The waits in this test are for conditions, up to 30-60 s: a loaded
# machine sets up and tears down slowly.)
start_killed() { # WAIT_FOR_GLOB HELPER ARGS...
	local want=$1
	shift
	"$@" -- "$WORK/wl" -d 20000 >/dev/null 2>"$WORK/killed.err" &
	hp=$!
	for _ in $(seq 600); do
		# shellcheck disable=SC2086
		compgen -G "${want//PID/$hp}" >/dev/null && break
		sleep 0.1
	done
	compgen -G "${want//PID/$hp}" >/dev/null ||
		{ cat "$WORK/killed.err" >&2; fail "$2 never set up (${want//PID/$hp})"; }
	sleep 0.5
	[ -z "${WHILE_SET_UP:-}" ] || "$WHILE_SET_UP"
	local kids
	kids=$(descendants "$hp")
	kill -9 "$hp"
	wait "$hp" 2>/dev/null || true
	# the workload (and perf, lttng's daemons stay) is orphaned: end it
	for k in $kids; do
		case "$(cat "/proc/$k/comm" 2>/dev/null)" in
		lttng-sessiond|lttng-consumerd) ;;  # what the next run must clean
		*) kill -9 "$k" 2>/dev/null || true ;;
		esac
	done
	for k in $kids; do  # gone, not exiting (perf holds its events until then)
		for _ in $(seq 600); do
			case "$(cat "/proc/$k/comm" 2>/dev/null)" in
			""|lttng-sessiond|lttng-consumerd) break ;;
			esac
			# a zombie has exited (and closed its events); nobody
			# may reap it here
			[ "$(awk '{ print $3 }' "/proc/$k/stat" 2>/dev/null)" = Z ] && break
			sleep 0.05
		done
	done
}
descendants() { # PID: its children, theirs, ...
	local c
	for c in $(pgrep -P "$1" || true); do
		echo "$c"
		descendants "$c"
	done
}
# reaped_meanwhile WHAT STATE: what SIGKILL left is gone before this test's
# next run: another helper's run on this machine reaped it (it reaps every
# dead owner's). Not an error; the checks that it is gone still run.
reaped_meanwhile() {
	echo "note: $1: $2, left by the killed run, was already removed by another" \
	     "run's clean-up" >&2
}
# expect_reaped FILE PATTERN WHAT: the run said it removed the killed run's
# state -- or another helper's run on this machine (every run reaps every
# dead owner's) did so first. The checks that follow it make sure the
# state is gone either way; on a machine of its own (CI) it is this run.
expect_reaped() {
	grep -qE "$2" "$1" && return 0
	echo "note: $3: this run did not remove the killed run's state; another" \
	     "run's clean-up did (checked below: it is gone)" >&2
}

# --- gilscope-tracefs -------------------------------------------------------
# A live helper's state must survive the clean-up: one runs meanwhile, until
# this test stops it (its workload is 10 min long: a 30 s one ended by
# itself, instance gone, while a loaded machine was still at the checks).
"$TOOLS/tracefs/gilscope-tracefs" -L "$LIBGIL" -o "$WORK/live" -- "$WORK/wl" -d 600000 \
	>/dev/null 2>"$WORK/live.err" &
live=$!
for _ in $(seq 600); do [ -d "$T/instances/gilscope_$live" ] && break; sleep 0.1; done
[ -d "$T/instances/gilscope_$live" ] || { cat "$WORK/live.err" >&2; fail "tracefs: the live run never set up"; }
start_killed "$T/instances/gilscope_PID" "$TOOLS/tracefs/gilscope-tracefs" -L "$LIBGIL" -o "$WORK/tf1"
old=$hp
[ -d "$T/instances/gilscope_$old" ] || reaped_meanwhile tracefs "instance gilscope_$old"
grep -q "^p:gilscope_$old/" "$T/uprobe_events" || reaped_meanwhile tracefs "uprobe group gilscope_$old"
"$TOOLS/tracefs/gilscope-tracefs" -L "$LIBGIL" -o "$WORK/tf2" -- "$WORK/wl" -d 100 \
	>/dev/null 2>"$WORK/tf2.err" || { cat "$WORK/tf2.err" >&2; fail "tracefs: second run failed"; }
expect_reaped "$WORK/tf2.err" "removed tracing instance gilscope_$old left by a killed helper \\(process $old is gone\\)" tracefs
expect_reaped "$WORK/tf2.err" "removed [0-9]+ uprobe event\\(s\\) of group gilscope_$old" tracefs
no_leftovers "gilscope_$old"
[ -d "$T/instances/gilscope_$live" ] || { cat "$WORK/live.err" >&2;
	fail "tracefs: the clean-up removed a live run's instance"; }
kill -TERM "$live"
rc=0; wait "$live" || rc=$?
[ "$rc" = 143 ] || { cat "$WORK/live.err" >&2; fail "tracefs: the live run exited $rc"; }
no_leftovers "gilscope_$live"

# --- gilscope-perf ----------------------------------------------------------
start_killed "$WORK/gilscope-perf.PID.*" "$TOOLS/perf/gilscope-perf" -L "$LIBGIL" -o "$WORK/pf1"
old=$hp
grep -q "^p:gilscope_$old/" "$T/uprobe_events" || reaped_meanwhile perf "uprobe group gilscope_$old"
"$TOOLS/perf/gilscope-perf" -L "$LIBGIL" -o "$WORK/pf2" -- "$WORK/wl" -d 100 \
	>/dev/null 2>"$WORK/pf2.err" || { cat "$WORK/pf2.err" >&2; fail "perf: second run failed"; }
expect_reaped "$WORK/pf2.err" "removed [0-9]+ uprobe event\\(s\\) of group gilscope_$old" perf
no_leftovers "gilscope_$old"
compgen -G "$WORK/gilscope-perf.$old.*" >/dev/null && fail "perf: the killed run's directory is still there"

# --- gilscope-perf -p: the sdt_gil lock --------------------------------------
# -p holds the machine's sdt_gil lock while its sdt_gil events exist (the
# real one: sdt_gil:* is one group per machine, a private lock let another
# user's events collide with this test's); a SIGKILL releases it (perf and
# the workload do not inherit it); the next -p run waits for whoever holds
# it before touching a probe, then reaps. Other users may hold the lock
# too: this test waits for it (up to 10 min) rather than expecting it free.
SDT_LOCK=/run/lock/gilscope-sdt_gil.lock
lock_is_held() {
	flock -n "$SDT_LOCK" true &&
		fail "perf -p: the sdt_gil lock is free while its probes exist"
	return 0
}
WHILE_SET_UP=lock_is_held start_killed "$WORK/gilscope-perf.PID.*/added" \
	"$TOOLS/perf/gilscope-perf" -p -L "$LIBGIL" -o "$WORK/pp1"
old=$hp
exec 8>>"$SDT_LOCK"
flock -w 600 8 || fail "perf -p: the sdt_gil lock outlived the SIGKILLed helper"
"$TOOLS/perf/gilscope-perf" -p -L "$LIBGIL" -o "$WORK/pp2" -- "$WORK/wl" -d 100 \
	>/dev/null 2>"$WORK/pp2.err" 8>&- &
pp=$!
for _ in $(seq 600); do grep -q "waiting for $SDT_LOCK" "$WORK/pp2.err" && break; sleep 0.1; done
grep -q "waiting for $SDT_LOCK" "$WORK/pp2.err" ||
	{ exec 8>&-; cat "$WORK/pp2.err" >&2; fail "perf -p: did not wait for the held sdt_gil lock"; }
compgen -G "$WORK/gilscope-perf.$pp.*" >/dev/null &&
	fail "perf -p: set up while another held the sdt_gil lock"
grep -q "removed perf probes" "$WORK/pp2.err" &&
	fail "perf -p: reaped the killed run's probes without the sdt_gil lock"
exec 8>&-
rc=0; wait "$pp" || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/pp2.err" >&2; fail "perf -p: the run after the lock exited $rc"; }
expect_reaped "$WORK/pp2.err" "removed perf probes .*left by a killed run \\(process $old is gone\\)" "perf -p"
grep -q -m1 ' sdt_gil:' "$WORK/pp2.txt" || fail "perf -p: no sdt_gil events recorded"
compgen -G "$WORK/gilscope-perf.*" >/dev/null && fail "perf -p: a run's directory is still there"
flock -w 600 "$SDT_LOCK" true || fail "perf -p: the sdt_gil lock outlived the helper"

# --- gilscope-lttng ---------------------------------------------------------
lttng_daemons() { # OWNER: pids of session/consumer daemons of that run
	local env pid
	for env in /proc/[0-9]*/environ; do
		{ tr '\0' '\n' <"$env"; } 2>/dev/null | grep "^LTTNG_HOME=$WORK/gilscope-lttng\\.$1\\." > /dev/null || continue
		pid=${env#/proc/}; echo "${pid%/environ}"
	done
}
start_killed "$WORK/gilscope-lttng.PID.*/sessiond.log" "$TOOLS/lttng/gilscope-lttng" \
	-P "$GILSCOPE_BUILD/probes/liblttng-gil.so" -o "$WORK/lt1"
old=$hp
for _ in $(seq 600); do [ -n "$(lttng_daemons "$old")" ] && break; sleep 0.1; done
[ -n "$(lttng_daemons "$old")" ] || reaped_meanwhile lttng "the daemon of $old"
"$TOOLS/lttng/gilscope-lttng" -P "$GILSCOPE_BUILD/probes/liblttng-gil.so" -o "$WORK/lt2" \
	-- "$WORK/wl" -d 100 >/dev/null 2>"$WORK/lt2.err" || { cat "$WORK/lt2.err" >&2; fail "lttng: second run failed"; }
expect_reaped "$WORK/lt2.err" "stopped lttng-sessiond \\(pid [0-9]+\\) left by a killed run \\(process $old is gone\\)" lttng
for _ in $(seq 600); do [ -z "$(lttng_daemons "$old")" ] && break; sleep 0.1; done
[ -z "$(lttng_daemons "$old")" ] || fail "lttng: the killed run's daemons still run: $(lttng_daemons "$old")"
compgen -G "$WORK/gilscope-lttng.$old.*" >/dev/null && fail "lttng: the killed run's directory is still there"

# --- eBPF tools: libbpf's legacy uprobe events of a dead tool ---------------
true & dead=$!; wait "$dead"
off=$(readelf -Ws "$LIBGIL" | awk '$8 == "gil_create" && !o { o = $2 } END { print o }')  # no early exit: SIGPIPE under pipefail
ev="libbpf_${dead}_gilscope_test_0x${off#0000000000}"
echo "p:uprobes/$ev $LIBGIL:0x$off" >> "$T/uprobe_events" || fail "cannot add a legacy-style uprobe event"
"$GILSCOPE" record -d 0.2 -o "$WORK/r.gst" -- "$WORK/wl" -d 50 >/dev/null 2>"$WORK/rec.err" ||
	{ cat "$WORK/rec.err" >&2; fail "record failed"; }
expect_reaped "$WORK/rec.err" "removed [0-9]+ uprobe event\\(s\\) libbpf left" "record"
grep -q "uprobes/$ev " "$T/uprobe_events" && fail "record: the dead tool's libbpf event is still there"
echo ok
