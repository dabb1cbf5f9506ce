#!/usr/bin/env bash
# gilscope report --html/--svg: the report's own analysis feeds the pictures.
#  1. On the recorded workload convoy (pictures_common.bash), whose convoy the
#     analysis always finds: the page renders in headless Chromium, embeds the
#     report's JSON, and the convoy finding's link moves the view onto it.
#  2. On the convoy scenario (gilscope run convoy: an echo server on real TCP
#     beside two CPU-bound threads; whether its waits form a convoy depends on
#     the scheduler, so no finding is required): the page renders with its 3
#     threads, and --svg draws the --from/--to window the report used.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pictures_common.bash"
need_browser
record_convoy "$WORK/workload.gst"
"$GILSCOPE" report -q "$WORK/workload.gst" --html "$WORK/report.html" \
  >"$WORK/report.txt" || fail "report --html failed"
grep -q 'Summary' "$WORK/report.txt" || fail "the text report is missing"
grep -q 'gilscope-report/1' "$WORK/report.html" || fail "the report's JSON is not in the page"
grep -q 'class="tag convoy"' "$WORK/report.html" ||
  fail "no convoy finding in the page ($(grep -A3 Findings "$WORK/report.txt"))"
out=$(cd "$JS" && node check_html.mjs "$WORK/report.html" --rows 3 --finding 0) ||
  fail "browser check: $out"
echo "$out"

"$GILSCOPE" run convoy -k 2 --policy cpython -d 0.3 -o "$WORK/convoy.gst" \
  >"$WORK/run.txt" || fail "gilscope run convoy failed: $(cat "$WORK/run.txt")"
"$GILSCOPE" report -q "$WORK/convoy.gst" --from 100ms --to 200ms \
  --html "$WORK/window.html" --svg "$WORK/window.svg" >/dev/null ||
  fail "report --html --svg with a window failed"
out=$(cd "$JS" && node check_html.mjs "$WORK/window.html" --rows 3) ||
  fail "browser check (scenario): $out"
python3 - "$WORK/window.svg" <<'PY' || fail "SVG window"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
text = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
assert "window 100 ms to 200 ms" in text, text[:300]
assert len(root.findall(f".//{ns}g[@class='row']")) == 3
PY
echo "pictures_report: ok"
