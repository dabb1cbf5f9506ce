#!/usr/bin/env bash
# tools/tracefs/gilscope-tracefs: uprobe events written from libgil's USDT
# notes into a private tracing instance, extracted with trace-cmd and read
# back from `trace-cmd report` text, agree with the built-in recorder of
# the same convoy run (every event type's count, hold/wait p50/p90 within
# 5 % or 2 us, and `gilscope report --json` on both),
# and the helper leaves no uprobe event or instance behind -- also when it
# is stopped by SIGTERM in the middle of a run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapters_common.bash"
require_root
require_cmd trace-cmd readelf
build_adapter_tools

# 128 MiB per CPU: on a quiet machine the convoy's solo phase alone makes
# well over a million events a second, which overran the default 16 MiB.
"$TOOLS/tracefs/gilscope-tracefs" -s -b 131072 -L "$LIBGIL" -o "$WORK/tf" -- \
	"$GILSCOPE" run convoy --cpu-threads 1 --duration 1 \
		-o "$WORK/native.gst" >"$WORK/run.out" &
hp=$!
wait "$hp" || fail "traced run failed"
# Only this run's probes: other runs may be tracing at the same time.
no_leftovers "gilscope_$hp"
count_native
count tracecmd "$WORK/tf.txt" "$WORK/tf.count" "$FROM" "$TO"
compare tracefs "$WORK/native.txt" "$WORK/tf.count"
[ "$(val "$WORK/tf.count" events sched_switch_in)" -gt 0 ] ||
	fail "tracefs: no sched_switch events of the traced threads"
report_compare tracefs "$WORK/native.json" "$WORK/tf.txt"

# Interrupted: the helper must still remove what it added.
"$TOOLS/tracefs/gilscope-tracefs" -L "$LIBGIL" -o "$WORK/int" -- \
	"$WORK/wl" -d 20000 &
hp=$!
for _ in $(seq 100); do
	ls -d /sys/kernel/tracing/instances/gilscope_$hp >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 0.5
kill -TERM "$hp"
rc=0
wait "$hp" || rc=$?
[ "$rc" -eq 143 ] || fail "interrupted helper exited $rc, expected 143"
no_leftovers "gilscope_$hp"
echo "PASS"
