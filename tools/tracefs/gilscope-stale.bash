# SPDX-License-Identifier: MIT
#
# Sourced by gilscope-tracefs, gilscope-perf and gilscope-lttng: find and
# remove what an earlier instance left when it was killed before its own
# clean-up could run (SIGKILL, OOM killer, power cut of its terminal).
#
# Every helper names what it creates after its own PID ("gilscope_PID"
# tracefs instances and uprobe groups, "gilscope-perf.PID.*" and
# "gilscope-lttng.PID.*" directories), so leftovers are recognised by name,
# and only those whose owner no longer exists are removed: several users
# may run the helpers at the same time, and a live one's are never touched.

# gs_owner_dead PID: true when no process PID exists. (A PID reused since
# its owner died keeps the leftovers in place: safe, if untidy.)
gs_owner_dead() {
	[[ "$1" =~ ^[0-9]+$ ]] && [ ! -e "/proc/$1" ]
}

# gs_remove_uprobe T GROUP/EVENT: removes the event, retrying for up to 3 s
# while the kernel says it is busy: the perf events of a killed owner (and
# of its workload, which inherited them) are released after the processes
# are gone, not at their exit, so the first removal can find the event
# still in use (1 of 11 events stayed in a CI rehearsal).
gs_remove_uprobe() {
	local T=$1 ev=$2 i
	for i in $(seq 30); do
		echo "-:$ev" >>"$T/uprobe_events" 2>/dev/null && return 0
		grep -q "^[pr]:$ev " "$T/uprobe_events" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# gs_reap_tracefs PROG T: tracing instances and uprobe events named
# gilscope_PID of dead owners, under the tracefs mount T.
gs_reap_tracefs() {
	local prog=$1 T=$2 d pid grp ev n
	for d in "$T"/instances/gilscope_*; do
		[ -d "$d" ] || continue
		pid=${d##*/gilscope_}
		gs_owner_dead "$pid" || continue
		echo 0 >"$d/tracing_on" 2>/dev/null || true
		echo 0 >"$d/events/enable" 2>/dev/null || true
		if rmdir "$d" 2>/dev/null; then
			echo "$prog: removed tracing instance ${d##*/} left by a" \
			     "killed helper (process $pid is gone)" >&2
		elif [ -d "$d" ]; then
			echo "$prog: could not remove $d, left by a killed helper" \
			     "(process $pid is gone): rmdir $d" >&2
		fi
	done
	[ -r "$T/uprobe_events" ] || return 0
	# "p:gilscope_123/acquired_0 /lib/libgil.so:0x..." -> gilscope_123/acquired_0
	declare -A groups=()
	while read -r ev; do
		grp=${ev%%/*}
		pid=${grp#gilscope_}
		gs_owner_dead "$pid" || continue
		echo 0 >"$T/events/$ev/enable" 2>/dev/null || true
		if gs_remove_uprobe "$T" "$ev"; then
			groups[$grp]=$(( ${groups[$grp]:-0} + 1 ))
		elif grep -q "^[pr]:$ev " "$T/uprobe_events" 2>/dev/null; then
			echo "$prog: could not remove uprobe event $ev, left by a" \
			     "killed helper: echo '-:$ev' >> $T/uprobe_events" >&2
		fi
	done < <(sed -n 's/^[pr]:\(gilscope_[0-9]*\/[^ ]*\) .*/\1/p' "$T/uprobe_events")
	for grp in "${!groups[@]}"; do
		n=${groups[$grp]}
		echo "$prog: removed $n uprobe event(s) of group $grp left by a" \
		     "killed helper (process ${grp#gilscope_} is gone)" >&2
	done
}

# gs_stale_dirs PREFIX: the directories PREFIX.PID.* of dead owners, one a line.
gs_stale_dirs() {
	local d pid
	for d in "$1".*.*; do
		[ -d "$d" ] || continue
		pid=${d#"$1".}
		pid=${pid%%.*}
		gs_owner_dead "$pid" && echo "$d"
	done
	return 0
}
