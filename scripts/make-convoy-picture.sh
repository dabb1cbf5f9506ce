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

# Whether the server's waits line up into a convoy, and whether the CPU
# threads pass the GIL between them meanwhile, depends on the scheduler of the
# moment: run until the page shows a convoy moment with at least 3 handoffs
# inside it (check_html.mjs --finding busiest jumps to the busiest one).
shot=
for try in $(seq 1 8); do
  rm -f convoy.png
  "$G" run convoy -k 2 --policy cpython -d 0.5 -o convoy.gst >run.txt
  "$G" report -q convoy.gst --html convoy.html >report.txt 2>/dev/null
  grep -q 'class="tag convoy"' convoy.html || continue
  out=$(cd "$ROOT/tests/js" && node check_html.mjs "$tmp/convoy.html" --rows 3 \
    --finding busiest --width 1280 --height 600 --screenshot "$tmp/convoy.png" 2>&1) || {
    echo "make-convoy-picture: browser check failed: $out" >&2; exit 1; }
  n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["picked"]["handoffs"])' "$out")
  cp convoy.gst keep.gst && cp convoy.png keep.png && shot=$out
  [ "$n" -ge 3 ] && break
  [ "$try" -lt 8 ] || echo "make-convoy-picture: keeping a moment with $n handoffs" >&2
done
[ -n "$shot" ] || { echo "make-convoy-picture: no convoy found in 8 runs" >&2; exit 1; }
out=$shot
mv keep.gst convoy.gst
cp keep.png "$ROOT/docs/img/convoy.png"
sed -n '/^convoy:/,/^  GIL/p' run.txt | head -6
view=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d %d" % tuple(d["afterFinding"]))' "$out")
read -r a b <<<"$view"
"$G" report -q convoy.gst --from "${a}ns" --to "${b}ns" --svg "$ROOT/docs/img/convoy.svg" >/dev/null 2>&1
echo "wrote docs/img/convoy.png and docs/img/convoy.svg (window ${a}..${b} ns)"
