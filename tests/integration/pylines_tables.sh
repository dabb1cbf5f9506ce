#!/usr/bin/env bash
# The line-table decoders of record --stacks (tools/bpf/pylines.c) against
# CPython itself: for every code object of a few standard-library modules,
# on every pyenv CPython 3.x, the line of every instruction offset as
# CPython gives it (co_lines() from 3.10, dis.findlinestarts before) must be
# what gs_py_addr2line() computes from the raw table (co_lnotab, 3.10's
# co_linetable, the 3.11+ location table). No root needed.
. "$(dirname "$0")/lib.sh"
require_cmd cc
cc -O2 -I"$GILSCOPE_SRC/tools/bpf" -I"$GILSCOPE_SRC/probes/bpf" \
  "$GILSCOPE_SRC/tests/integration/pylines_check.c" "$GILSCOPE_SRC/tools/bpf/pylines.c" \
  -o "$WORK/pylines_check" || fail "cannot build pylines_check.c"
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
n=0
for v in $(ls -1 "$root/versions" 2>/dev/null | sort -V); do
  case "$v" in 3.*) ;; *) continue ;; esac
  py="$root/versions/$v/bin/python"
  [ -x "$py" ] || continue
  "$py" "$GILSCOPE_SRC/tests/integration/pylines_vectors.py" > "$WORK/v-$v.txt" ||
    fail "$v: cannot produce vectors"
  out=$("$WORK/pylines_check" < "$WORK/v-$v.txt") || fail "$v: $(echo "$out" | tail -5)"
  echo "$v: $(echo "$out" | tail -1)"
  n=$((n + 1))
done
[ "$n" -ge 1 ] || skip "no pyenv CPython 3.x in $root/versions"
