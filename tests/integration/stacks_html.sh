#!/usr/bin/env bash
# The HTML report names the code on hover (issue 15): a hold span's tooltip
# says where its holder released the GIL, a wait span's where the waiter
# asked for it, "function (file:line)". A real libgil convoy with the
# scenarios' published code locations (docs/api.md), opened in headless
# Chromium: the longest hold and the longest wait that have a location are
# zoomed to and hovered; the tooltip must carry that span's own label (the
# page is offline: check_html.mjs fails on any network request).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pictures_common.bash"
need_browser

"$GILSCOPE" run convoy -d 0.5 -o "$WORK/cv.gst" >/dev/null || fail "gilscope run convoy"
"$GILSCOPE" report -q --html "$WORK/cv.html" "$WORK/cv.gst" >/dev/null || fail "report --html"
grep -q '"code":{"[0-9]*":"' "$WORK/cv.html" || fail "no code labels in the page's data"
for kind in hold wait; do
	out=$(cd "$JS" && node check_html.mjs "$WORK/cv.html" --rows 2 --hover-code "$kind") ||
		fail "hover $kind: $out"
	python3 - "$kind" "$out" <<'PY' || fail "hover $kind: $out"
import json, sys
kind, seen = sys.argv[1], json.loads(sys.argv[2])
h = seen["hover"]
want = {"hold": ("gs_cpu_work_loop (", "server_main ("), "wait": ("server_main (", "gs_cpu_work_loop (")}[kind]
assert h["label"].startswith(want), h
assert h["label"] in h["tip"], h
assert ("released in " if kind == "hold" else "asked in ") + h["label"] in h["tip"], h
PY
done
echo "PASS: hold and wait tooltips name their code"
