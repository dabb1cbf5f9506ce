#!/bin/bash
# Symbol-free tracing (docs/symbol-free.md). Every pyenv CPython (2.7,
# 3.6-3.13) is copied and stripped the way container images are
# (strip --strip-all: no .symtab, no debug files) and traced beside the
# original in one run, on a workload whose per-thread GIL counts are the same
# on every run (threads one after another, each making N blocking calls):
#  - each worker thread's acquisitions, requests and releases by reason agree
#    exactly between the .symtab method (original) and the symbol-free one
#    (stripped copy);
#  - the addresses the symbol-free method finds (2.7: interpreter_lock; 3.x:
#    the GIL struct) equal the original's symbols (nm, gdb on its DWARF);
#  - 2.7: the GIL's call sites in ceval.c (read off the code of its exported
#    functions) are the same addresses in the stripped copy;
#  - on 3.6-3.13, `record -p` on a running stripped process finds the GIL
#    at the same address: from _PyRuntime (the per-version offsets), 3.6
#    from drop_gil's code (ebpf_symfree_py36.sh checks its counts).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3 strip patchelf gdb nm
require_btf

# make_stripped X.Y: a container-style stripped copy of pyenv CPython X.Y
# (interpreter and libpython stripped, RUNPATH $ORIGIN/../lib, stdlib by
# symlink); prints the interpreter's path.
make_stripped() {
  local ver=$1 dest="$WORK/strip-$1" real prefix l
  real=$(readlink -f "$(find_python "$ver")"); prefix=$(dirname "$(dirname "$real")")
  mkdir -p "$dest/bin" "$dest/lib"
  cp "$real" "$dest/bin/python$ver"
  for l in "$prefix"/lib/libpython"$ver"*.so*; do
    if [ -L "$l" ]; then ln -s "$(readlink "$l")" "$dest/lib/$(basename "$l")"
    else cp "$l" "$dest/lib/"; fi
  done
  ln -s "$prefix/lib/python$ver" "$dest/lib/python$ver"
  strip --strip-all "$dest/bin/python$ver" "$dest"/lib/libpython*.so*
  patchelf --set-rpath '$ORIGIN/../lib' "$dest/bin/python$ver"
  echo "$dest/bin/python$ver"
}

# The file holding the GIL: libpython when the build has one, else the program.
gil_file() {
  local py=$1 lib
  lib=$(ldd "$py" | awk '/libpython/ { print $3 }')
  readlink -f "${lib:-$py}"
}

hexval() { printf '0x%x' "$(( $1 ))"; }

check_version() {
  local ver=$1 orig strip o s lib want got
  orig=$(readlink -f "$(find_python "$ver")")
  strip=$(make_stripped "$ver")
  for run in orig strip; do
    py=$orig; [ $run = strip ] && py=$strip
    "$GILSCOPE" record -v -o "$WORK/$ver-$run.gst" -- "$py" "$PYDIR/blocking_threads.py" 40 3 \
      > /dev/null 2> "$WORK/$ver-$run.err" || { cat "$WORK/$ver-$run.err" >&2; fail "$ver: record ($run) failed"; }
    python3 "$PYDIR/thread_counts.py" "$WORK/$ver-$run.gst" > "$WORK/$ver-$run.json"
  done
  grep -q "GIL found symbol-free" "$WORK/$ver-orig.err" && fail "$ver: original traced symbol-free, not through its symbol table"
  grep -q "GIL found symbol-free" "$WORK/$ver-strip.err" || fail "$ver: stripped copy not traced symbol-free"
  o=$(cat "$WORK/$ver-orig.json"); s=$(cat "$WORK/$ver-strip.json")
  [ "$o" = "$s" ] || fail "$ver: per-thread counts differ: symtab $o, symbol-free $s"
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); assert len(t) == 3 and all(x.get("release_blocking", 0) >= 40 for x in t), t' \
    "$WORK/$ver-strip.json" || fail "$ver: expected 3 worker threads with >= 40 blocking releases each"

  lib=$(gil_file "$orig")
  case $ver in
    2.7)
      want=$(hexval "0x$(nm "$lib" | awk '$3 == "interpreter_lock" { print $1 }')")
      got=$(sed -n 's/.*interpreter_lock at \(0x[0-9a-f]*\).*/\1/p' "$WORK/$ver-strip.err") ;;
    3.6)
      want=$(hexval "0x$(nm "$lib" | awk '$3 == "gil_cond" { print $1 }')")
      got=$(sed -n 's/.*GIL 0 found at its creation: [^+]*+\(0x[0-9a-f]*\).*/\1/p' "$WORK/$ver-strip.err") ;;
    3.7|3.8|3.9|3.10|3.11)
      want=$(gdb -batch -ex 'p/x (long)&_PyRuntime.ceval.gil' "$lib" 2>/dev/null | sed -n 's/^\$1 = //p')
      got=$(sed -n 's/.*GIL 0 found at its creation: [^+]*+\(0x[0-9a-f]*\).*/\1/p' "$WORK/$ver-strip.err") ;;
    *)
      want=$(gdb -batch -ex 'p/x (long)&_PyRuntime._main_interpreter._gil' "$lib" 2>/dev/null | sed -n 's/^\$1 = //p')
      got=$(sed -n 's/.*GIL 0 found at its creation: [^+]*+\(0x[0-9a-f]*\).*/\1/p' "$WORK/$ver-strip.err") ;;
  esac
  [ -n "$want" ] && [ "$(hexval "$want")" = "$(hexval "${got:-0}")" ] \
    || { cat "$WORK/$ver-strip.err" >&2; fail "$ver: found ${got:-nothing}, symbols say $want"; }

  # 2.7: the GIL's call sites, read off ceval.c's code, are the same
  # addresses in the stripped copy as in the original
  if [ "$ver" = 2.7 ]; then
    for run in orig strip; do
      "$GILSCOPE" report --json "$WORK/$ver-$run.gst" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["trace"]["probes"]:
    print(p["what"], p["kind"], hex(p["vaddr"]))' | sort > "$WORK/$ver-$run.sites" || fail "$ver: report --json ($run)"
    done
    grep -q "release_lock@PyEval_EvalFrameEx call" "$WORK/$ver-orig.sites" || fail "$ver: no call-site probes in $(cat "$WORK/$ver-orig.sites")"
    cmp -s "$WORK/$ver-orig.sites" "$WORK/$ver-strip.sites" \
      || fail "$ver: call sites differ: $(diff "$WORK/$ver-orig.sites" "$WORK/$ver-strip.sites" | tr '\n' ' ')"
  fi

  # -p: the GIL of a running stripped process, from _PyRuntime (3.6: from
  # drop_gil's code; not created yet in this single-threaded process)
  if [ "$ver" != 2.7 ]; then
    "$strip" -c 'import time; time.sleep(30)' & local target=$!
    sleep 0.3
    timeout 20 "$GILSCOPE" record -v -p "$target" -d 0.2 -o "$WORK/$ver-p.gst" \
      > /dev/null 2> "$WORK/$ver-p.err" || true
    kill "$target"; wait "$target" 2>/dev/null || true
    got=$(sed -n 's/.*GIL 0 at [^+]*+\(0x[0-9a-f]*\) .*/\1/p' "$WORK/$ver-p.err")
    [ "$(hexval "$want")" = "$(hexval "${got:-0}")" ] \
      || { cat "$WORK/$ver-p.err" >&2; fail "$ver -p: found ${got:-nothing}, symbols say $want"; }
  fi
  echo "$ver: per-thread counts agree ($s); GIL at $want"
}

# 3.12+: a subinterpreter with its own GIL beside the main one: two GILs
# found, each written to its own trace (TRACE, TRACE.gil1), the worker's N
# blocking calls under GIL 1 and the main thread's under GIL 0.
# The unstripped build (symbol table: take_gil/drop_gil serve every GIL)
# must keep them apart the same way, from take_gil's thread state.
check_own_gil() {
  local ver=$1 how=$2 py t="$WORK/own-$1-$2.gst"
  case $how in
    stripped) py="$WORK/strip-$ver/bin/python$ver" ;;
    symtab) py=$(find_python "$ver") ;;
  esac
  "$GILSCOPE" record -v -o "$t" -- "$py" "$PYDIR/own_gil.py" 60 > /dev/null 2> "$WORK/own-$ver.err" \
    || { cat "$WORK/own-$ver.err" >&2; fail "$ver $how own GIL: record failed"; }
  if [ "$how" = stripped ]; then
    grep -q "GIL 1 found at its creation" "$WORK/own-$ver.err" \
      || { cat "$WORK/own-$ver.err" >&2; fail "$ver own GIL: second GIL not found"; }
  else
    grep -q "take_gil entry, symbol table" "$WORK/own-$ver.err" \
      || { cat "$WORK/own-$ver.err" >&2; fail "$ver own GIL: not traced through the symbol table"; }
  fi
  [ -s "$t.gil1" ] || fail "$ver own GIL: no trace for GIL 1"
  python3 - "$t" "$t.gil1" <<'PY' || fail "$ver own GIL: unexpected counts"
import json, subprocess, sys, os
sys.path.insert(0, os.environ["PYDIR"])
import gstrace
def per_thread(path):
    hdr, threads, recs, end = gstrace.read(path)
    c = {}
    for r in recs:
        if gstrace.NAMES.get(r[3]) == "acquired":
            c[r[1] == hdr["pid"]] = c.get(r[1] == hdr["pid"], 0) + 1
    return c
main, sub = per_thread(sys.argv[1]), per_thread(sys.argv[2])
# main thread: >= 60 re-acquisitions under GIL 0; worker: its 60 under GIL 1
# (the main thread also used GIL 1 while it created the interpreter)
assert main.get(True, 0) >= 60 and sub.get(False, 0) >= 60, (main, sub)
# the worker's 60 blocking calls are under GIL 1 only: under GIL 0 it
# takes the GIL to start and after run_string returns (2), plus any
# forced switch with the main thread meanwhile, never one per call
assert main.get(False, 0) < 60, ("worker's calls under GIL 0", main, sub)
print("own GIL: GIL 0 main-thread acquisitions %d, GIL 1 worker acquisitions %d"
      % (main[True], sub[False]))
PY
  "$GILSCOPE" report -s -q "$t.gil1" > /dev/null || fail "$ver own GIL: report rejects $t.gil1"
}

export PYDIR
for ver in ${GS_SYMFREE_VERSIONS:-2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13}; do
  check_version "$ver"
  case $ver in 3.12|3.13) check_own_gil "$ver" stripped; check_own_gil "$ver" symtab ;; esac
done
echo "PASS"
