# Shared by tests/integration/pictures_*.sh (sourced after lib.sh; not a test
# itself: ctest only runs *.sh).
#
# need_browser: node, Debian's chromium and the npm packages of tests/js
#   (scripts/install-js-deps.sh) - a skip, so a failure under CI=true.
# record_convoy OUT [ARGS]: records a real convoy with the built-in recorder:
#   two CPU-bound threads and one I/O thread on the cpython policy (1 ms
#   switch interval), 300 ms, via the adapters' test workload.
JS="$GILSCOPE_SRC/tests/js"

need_browser() {
  require_cmd node chromium
  [ -d "$JS/node_modules/playwright-core" ] && [ -d "$JS/node_modules/speedscope" ] ||
    skip "needs tests/js/node_modules (scripts/install-js-deps.sh)"
}

record_convoy() {
  local out=$1
  shift
  require_cmd cc
  if [ ! -x "$WORK/wl" ]; then
    cc -O2 -I"$GILSCOPE_SRC/runtime/include" -I"$GILSCOPE_SRC/probes" \
      "$GILSCOPE_SRC/tests/integration/adapters_workload.c" -o "$WORK/wl" \
      -L"$GILSCOPE_BUILD/runtime" -lgil -Wl,-rpath,"$GILSCOPE_BUILD/runtime" \
      -lpthread || fail "cannot build adapters_workload.c"
  fi
  "$WORK/wl" -p cpython -t 2 -n 1 -d 300 -i 1000 -o "$out" "$@" >/dev/null ||
    fail "the workload could not record $out"
}
