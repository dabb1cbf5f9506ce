#!/usr/bin/env bash
# One libgil run traced at once by the built-in recorder, LTTng-UST (through
# tools/lttng/gilscope-lttng, read back with the CTF reader) and perf's
# uprobes on the USDT probes with scheduler tracepoints (tools/perf/
# gilscope-perf, read back from perf script text): every catalog event type
# has the same count in all three, and hold/wait p50/p90 agree within 5 %.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapters_common.bash"
require_root
require_cmd perf lttng lttng-sessiond babeltrace2
[ -e "$GILSCOPE_BUILD/probes/liblttng-gil.so" ] ||
	skip "built without LTTng (GILSCOPE_WITH_LTTNG=OFF)"
pkg-config --exists babeltrace2 || skip "needs libbabeltrace2-dev"
build_adapter_tools

"$TOOLS/perf/gilscope-perf" -s -L "$LIBGIL" -o "$WORK/perf" -- \
	"$TOOLS/lttng/gilscope-lttng" -o "$WORK/ctf" \
		-P "$GILSCOPE_BUILD/probes/liblttng-gil.so" -- \
		"$WORK/wl" -t 2 -n 1 -d 1000 -i 1000 -o "$WORK/native.gst" &
hp=$!
wait "$hp" || fail "traced run failed"
# Only this run's probes: other runs may be tracing at the same time.
no_leftovers "gilscope_$hp"

count native "$WORK/native.gst" "$WORK/native.txt"
count ctf "$WORK/ctf" "$WORK/ctf.txt"
count perf "$WORK/perf.txt" "$WORK/perf.txt.count"
compare lttng "$WORK/native.txt" "$WORK/ctf.txt"
compare perf "$WORK/native.txt" "$WORK/perf.txt.count"
[ "$(val "$WORK/perf.txt.count" events sched_switch_out)" -gt 0 ] ||
	fail "perf: no sched_switch events of the traced threads"
[ "$(val "$WORK/perf.txt.count" events sched_wakeup)" -gt 0 ] ||
	fail "perf: no sched_wakeup events of the traced threads"
echo "PASS"
