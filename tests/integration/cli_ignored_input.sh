#!/usr/bin/env bash
# Input the CLI used to drop in silence (issue 14, item 12) is now refused or
# reported: an option the scenario or policy ignores, a report window past the
# trace's end, --summary with --per-thread, a mistyped command or scenario.
. "$(dirname "$0")/lib.sh"
G=$GILSCOPE


expect_exit 2 "--duration does not apply to countdown.*--units" $G run countdown -d 10
expect_exit 2 "--cpu-threads does not apply to countdown" $G run countdown -k 2
expect_exit 2 "--units does not apply to convoy" $G run convoy --units 5
expect_exit 2 "--pin does not apply to io" $G run io --pin
expect_exit 2 "add --pin" $G run priority --hog-busy-us 100
expect_exit 2 "--sem applies to the legacy policy only" $G run countdown --sem
expect_exit 2 "--no-inherit applies to the prio policy only" $G run convoy --no-inherit
expect_exit 2 "--interval-us does not apply to the legacy policy" $G run countdown -P legacy --interval-us 100
expect_exit 2 "did you mean 'convoy'" $G run convoi
expect_exit 2 "did you mean 'legacy'" $G run countdown -P legasy
expect_exit 2 "did you mean 'report'" $G reprot x.gst
expect_exit 2 "did you mean 'record'" $G recod

$G run countdown --units 2000000 -o "$WORK/cd.gst" > /dev/null
# (windows past any trace this test can record: the countdown's length
# follows the machine's load, 10 s and more on a loaded one)
expect_exit 1 "window starts at 3600 s but the trace ends at" $G report --from 3600s "$WORK/cd.gst"
expect_exit 1 "window starts at" $G report --window 3600s: "$WORK/cd.gst"
expect_exit 2 "exclude each other" $G report -s --per-thread "$WORK/cd.gst"
expect_exit 2 "exclude each other" $G report --per-thread --summary "$WORK/cd.gst"

$G report --summary "$WORK/cd.gst" > "$WORK/s.txt"
grep -q '^Summary' "$WORK/s.txt" || fail "--summary lost the summary"
grep -q '^Findings' "$WORK/s.txt" || fail "--summary lost the findings"
grep -q 'distribution\|^GIL wait$\|^GIL hold$' "$WORK/s.txt" && fail "--summary still prints histograms"
$G report "$WORK/cd.gst" > "$WORK/full.txt"
grep -q '^GIL hold$' "$WORK/full.txt" || fail "the full report lost its histograms"

# A trace on standard input reads as the same trace from a file.
$G report --json - < "$WORK/cd.gst" > "$WORK/stdin.json"
$G report --json "$WORK/cd.gst" > "$WORK/file.json"
python3 - "$WORK/stdin.json" "$WORK/file.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["summary"] == b["summary"], "stdin and file reports differ"
PY
echo "cli ignored input: ok"
