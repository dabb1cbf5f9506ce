#!/usr/bin/env bash
# Pictures of a trace with scheduler events (gilscope record, eBPF, root):
# the off-CPU lane overlaps the GIL states on purpose, so this is where the
# exporters must cut off-CPU slices to nest. Checks the page (a row per
# thread that gilscope report sees: the workload's main thread shows up
# through its scheduler events when it had any; an off-CPU lane), the Chrome JSON
# (nesting, speedscope shows the off-CPU frames) and the Perfetto file
# (protoc, paired slices at depth <= 2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pictures_common.bash"
require_root
need_browser
require_cmd protoc
record_convoy "$WORK/plain.gst" # builds $WORK/wl
timeout 120 "$GILSCOPE" record -o "$WORK/sched.gst" -- \
  "$WORK/wl" -p cpython -t 2 -n 1 -d 300 -i 1000 >"$WORK/record.txt" 2>&1 ||
  fail "gilscope record failed: $(cat "$WORK/record.txt")"

"$GILSCOPE" report -q --json "$WORK/sched.gst" >"$WORK/report.json" || fail "report --json"
n=$(json_get "$WORK/report.json" 'len(d["threads"])')
[ "$n" -ge 3 ] || fail "report sees $n threads, want the 3 workers at least"
"$GILSCOPE" export -q -f html "$WORK/sched.gst" -o "$WORK/sched.html" || fail "html"
grep -q 'off CPU (thin lane)' "$WORK/sched.html" || fail "the page has no off-CPU lane"
out=$(cd "$JS" && node check_html.mjs "$WORK/sched.html" --rows "$n") || fail "browser: $out"
echo "$out"

"$GILSCOPE" export -q -f chrome-json "$WORK/sched.gst" -o "$WORK/sched.json" || fail "chrome-json"
python3 "$(dirname "$0")/pictures_check.py" chrome "$WORK/sched.json" "$n" ||
  fail "Chrome JSON structure"
out=$(cd "$JS" && node check_speedscope.mjs "$WORK/sched.json" --threads "$n" \
  --frames "hold GIL,wait GIL,off CPU (sleeping)") || fail "speedscope: $out"
echo "$out"

"$GILSCOPE" export -q -f perfetto "$WORK/sched.gst" -o "$WORK/sched.pftrace" || fail "perfetto"
protoc -I"$GILSCOPE_SRC/tests/perfetto" --decode=perfetto.protos.Trace \
  gilscope_perfetto.proto <"$WORK/sched.pftrace" >"$WORK/sched.txt" ||
  fail "protoc cannot decode it"
python3 "$(dirname "$0")/pictures_check.py" perfetto "$WORK/sched.txt" "$WORK/sched.json" "$n" ||
  fail "Perfetto structure"
echo "pictures_sched: ok"
