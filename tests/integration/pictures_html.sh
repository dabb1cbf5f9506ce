#!/usr/bin/env bash
# gilscope's HTML report in a real browser: headless Chromium opens the page
# made from a real convoy trace; it must render with no console error and no
# network request, show one row per thread (3), paint the timeline, and a
# finding link must move the view onto its moment.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pictures_common.bash"
need_browser
record_convoy "$WORK/convoy.gst"

"$GILSCOPE" export -q -f html "$WORK/convoy.gst" -o "$WORK/convoy.html" ||
  fail "export -f html failed"
grep -q '<canvas id="gs-canvas" data-rows="3"' "$WORK/convoy.html" ||
  fail "no 3-row timeline canvas in the page"
! grep -Eq '<(script|link)[^>]+(src|href)=' "$WORK/convoy.html" ||
  fail "the page loads external scripts or stylesheets"

grep -q 'class="gs-jump"' "$WORK/convoy.html" ||
  fail "no finding link: the convoy was not found in $WORK/convoy.gst"
out=$(cd "$JS" && node check_html.mjs "$WORK/convoy.html" --rows 3 --finding 0 \
  --screenshot "$WORK/convoy.png") || fail "browser check: $out"
echo "$out"
[ -s "$WORK/convoy.png" ] || fail "no screenshot"

# A window (--from/--to) embeds only that part and still renders.
"$GILSCOPE" export -q -f html --from 50ms --to 150ms "$WORK/convoy.gst" \
  -o "$WORK/window.html" || fail "export -f html with a window failed"
out=$(cd "$JS" && node check_html.mjs "$WORK/window.html" --rows 3) ||
  fail "browser check of the window: $out"
python3 - "$out" <<'PY' || fail "window: $out"
import json, sys
d = json.loads(sys.argv[1])
# the view spans the 100 ms window (the trace may end earlier)
assert 0 < d["view"][1] <= 100e6, d["view"]
PY
echo "pictures_html: ok"
