#!/usr/bin/env bash
# Makes docs/img/convoy.png (the README's picture of an I/O convoy) and
# docs/img/convoy.svg from a fresh run of the convoy scenario:
#   gilscope run convoy -k 2 --policy cpython -o convoy.gst
#   gilscope report convoy.gst --html convoy.html
# then headless Chromium shows the page jumped to the convoy finding's worst
# moment and takes the screenshot; the SVG is the same moment as a static
# picture (gilscope report --svg --from --to).
# Usage: scripts/make-convoy-picture.sh [BUILD_DIR]   (default: build)
# Needs: a build, chromium, node and tests/js/node_modules
# (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
G="$ROOT/$BUILD/tools/gilscope/gilscope"
case "$BUILD" in /*) G="$BUILD/tools/gilscope/gilscope" ;; esac
[ -x "$G" ] || { echo "make-convoy-picture: no $G: build first (cmake -S . -B $BUILD && cmake --build $BUILD)" >&2; exit 1; }
[ -d tests/js/node_modules/playwright-core ] || scripts/install-js-deps.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" # the page's title shows the command line: keep it short

# Whether the server's waits line up into a convoy depends on the scheduler
# of the moment: run until the report finds one (it nearly always does).
for try in 1 2 3 4 5 6; do
  "$G" run convoy -k 2 --policy cpython -d 0.5 -o convoy.gst >run.txt
  "$G" report -q convoy.gst --html convoy.html >report.txt 2>/dev/null
  grep -q 'class="tag convoy"' convoy.html && break
  [ "$try" -lt 6 ] || { echo "make-convoy-picture: no convoy found in 6 runs" >&2; exit 1; }
done
sed -n '/^convoy:/,/^  GIL/p' run.txt | head -6

# Finding 1 is the longest single stall: the page zooms onto it.
out=$(cd "$ROOT/tests/js" && node check_html.mjs "$tmp/convoy.html" --rows 3 --finding 1 \
  --width 1280 --height 600 --screenshot "$ROOT/docs/img/convoy.png" 2>&1) || {
  echo "make-convoy-picture: browser check failed: $out" >&2; exit 1; }
view=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d %d" % tuple(d["afterFinding"]))' "$out")
read -r a b <<<"$view"
"$G" report -q convoy.gst --from "${a}ns" --to "${b}ns" --svg "$ROOT/docs/img/convoy.svg" >/dev/null 2>&1
echo "wrote docs/img/convoy.png and docs/img/convoy.svg (window ${a}..${b} ns)"
