#!/usr/bin/env bash
# Small output fixes (issue 14, item 13): histograms without empty leading
# rows (report and top), a command cut to the trace header's 64 bytes ends in
# "...", export shows progress with -v, record says what its time measures.
. "$(dirname "$0")/lib.sh"
G=$GILSCOPE

first_rows() {  # the first row under each "count    distribution" header
  awk '/count +distribution/ { getline; print }' "$1"
}

# A command longer than the header's field, so it is cut.
$G run countdown --threads 2 --units 3000000 --policy cpython \
  -o "$WORK/a-trace-with-a-rather-long-name-for-the-header.gst" > /dev/null
T="$WORK/a-trace-with-a-rather-long-name-for-the-header.gst"
$G report "$T" > "$WORK/r.txt"
cmd=$(sed -n 's/^command: //p' "$WORK/r.txt")
case "$cmd" in
  *...) [ ${#cmd} -eq 63 ] || fail "cut command is ${#cmd} characters: '$cmd'" ;;
  *) fail "a command cut to the header's field does not end in '...': '$cmd'" ;;
esac
(cd "$WORK" && $G run countdown --units 1000 -o s.gst > /dev/null)
[ "$($G report "$WORK/s.gst" | sed -n 's/^command: //p')" = "gilscope run countdown --units 1000 -o s.gst" ] ||
  fail "a short command was changed"

# Report histograms start at their first non-empty row.
first_rows "$WORK/r.txt" > "$WORK/rows"
[ -s "$WORK/rows" ] || fail "no histogram in the report"
if awk -F: '{ split($2, a, " "); if (a[1] == 0) bad = 1 } END { exit !bad }' "$WORK/rows"; then
  fail "a histogram starts with an empty row: $(cat "$WORK/rows")"
fi
grep -q '^window: .* from the first event to the end' "$WORK/r.txt" ||
  fail "the report does not say what its window measures"

# export: progress on stderr with -v even when stderr is a file; none without.
$G export -v -f perfetto "$T" -o "$WORK/t.pftrace" 2> "$WORK/v.err"
grep -q 'reading .* 100%\|reading .*[0-9]%' "$WORK/v.err" || fail "export -v showed no progress: $(cat "$WORK/v.err")"
grep -q 'writing' "$WORK/v.err" || fail "export -v did not say it was writing"
$G export -f perfetto "$T" -o "$WORK/t.pftrace" 2> "$WORK/q.err"
grep -q 'reading' "$WORK/q.err" && fail "export printed progress into a file without -v"

# top's histograms and record's wording need eBPF.
require_root
PY=$(find_python 3.11)
"$PY" "$GILSCOPE_SRC/tests/integration/python/countdown.py" 300000000 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 0.5
$G top -p $pid -i 1 -d 1 > "$WORK/top.txt" 2>&1 || fail "top failed: $(cat "$WORK/top.txt")"
first_rows "$WORK/top.txt" > "$WORK/trows"
[ -s "$WORK/trows" ] || fail "no histogram from top: $(cat "$WORK/top.txt")"
if awk -F: '{ split($2, a, " "); if (a[1] == 0) bad = 1 } END { exit !bad }' "$WORK/trows"; then
  fail "a top histogram starts with an empty row: $(cat "$WORK/trows")"
fi
$G record -p $pid -d 1 -o "$WORK/rec.gst" 2> "$WORK/rec.err" || fail "record failed: $(cat "$WORK/rec.err")"
grep -q 'of recording (attach to stop)' "$WORK/rec.err" || fail "record does not say what its time is: $(cat "$WORK/rec.err")"
echo "cli output details: ok"
