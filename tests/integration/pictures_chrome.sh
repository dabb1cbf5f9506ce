#!/usr/bin/env bash
# gilscope export -f chrome-json on a real convoy trace, read by two real
# consumers: Python's json module (structure: every phase we promise, flows
# paired, slices nested per thread, ts in us with ns decimals) and speedscope
# (its own importer, in headless Chromium: Trace Event Format recognised, one
# profile per thread, the GIL states as frames).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pictures_common.bash"
need_browser
record_convoy "$WORK/convoy.gst"

"$GILSCOPE" export -q -f chrome-json "$WORK/convoy.gst" -o "$WORK/convoy.json" ||
  fail "export -f chrome-json failed"
python3 "$(dirname "$0")/pictures_check.py" chrome "$WORK/convoy.json" 3 ||
  fail "Chrome JSON structure"

out=$(cd "$JS" && node check_speedscope.mjs "$WORK/convoy.json" --threads 3 \
  --frames "hold GIL,wait GIL,blocked: sleep" --screenshot "$WORK/speedscope.png") ||
  fail "speedscope: $out"
echo "$out"

# A window is smaller and still a valid import.
"$GILSCOPE" export -q -f chrome-json --from 100ms --to 120ms "$WORK/convoy.gst" \
  -o "$WORK/window.json" || fail "windowed export failed"
[ "$(stat -c %s "$WORK/window.json")" -lt "$(stat -c %s "$WORK/convoy.json")" ] ||
  fail "the window is not smaller than the whole trace"
out=$(cd "$JS" && node check_speedscope.mjs "$WORK/window.json") ||
  fail "speedscope (window): $out"

# Usage errors exit 2, a bad trace exits 1 naming the file.
set +e
"$GILSCOPE" export -f nosuch "$WORK/convoy.gst" 2>/dev/null; [ $? -eq 2 ] || fail "bad format: want exit 2"
"$GILSCOPE" export -f chrome-json --from 10s "$WORK/convoy.gst" -o "$WORK/x.json" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'window is empty' "$WORK/err" || fail "empty window: $(cat "$WORK/err")"
echo garbage >"$WORK/bad.gst"
"$GILSCOPE" export -f perfetto "$WORK/bad.gst" -o "$WORK/x.pftrace" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'bad.gst' "$WORK/err" || fail "bad trace: $(cat "$WORK/err")"
set -e
echo "pictures_chrome: ok"
