#!/usr/bin/env bash
# gilscope report on bad input: a message naming the file, the byte offset
# and what was expected, exit 1; usage errors exit 2; a truncated trace is
# read only with --allow-truncated, and then marked partial.
source "$(dirname "$0")/lib.sh"

expect() { # STATUS FRAGMENT CMD...
  local want=$1 frag=$2 rc=0
  shift 2
  "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$WORK/err" >&2; fail "'$*' exited $rc, want $want"; }
  grep -qF -- "$frag" "$WORK/err" || {
    cat "$WORK/err" >&2; fail "'$*': stderr lacks '$frag'"; }
}

"$GILSCOPE" run countdown --threads 2 --units 1000000 -o "$WORK/good.gst" >/dev/null \
  || fail "gilscope run"
size=$(stat -c %s "$WORK/good.gst")

: > "$WORK/empty.gst"
expect 1 "$WORK/empty.gst: offset 0: empty file" "$GILSCOPE" report "$WORK/empty.gst"

printf 'NOTATRACE and some more bytes to look at' > "$WORK/magic.gst"
expect 1 "$WORK/magic.gst: offset 0: bad magic \"NOTATRAC\" (expected \"GILSCOPE\")" \
  "$GILSCOPE" report "$WORK/magic.gst"

cp "$WORK/good.gst" "$WORK/major.gst"
printf '\x07\x00' | dd of="$WORK/major.gst" bs=1 seek=8 conv=notrunc status=none
expect 1 "$WORK/major.gst: offset 8: unsupported trace format version 7." \
  "$GILSCOPE" report "$WORK/major.gst"

# A block header overwritten: the first block after the 152-byte header.
cp "$WORK/good.gst" "$WORK/corrupt.gst"
printf 'JUNK' | dd of="$WORK/corrupt.gst" bs=1 seek=152 conv=notrunc status=none
expect 1 "$WORK/corrupt.gst: offset 152: block 0 (?): corrupt block: type 0x4b4e554a" \
  "$GILSCOPE" report "$WORK/corrupt.gst"

# Cut inside the END block: truncated, unless allowed (then partial).
head -c $((size - 8)) "$WORK/good.gst" > "$WORK/cut.gst"
expect 1 "trace is truncated" "$GILSCOPE" report "$WORK/cut.gst"
grep -qF -- "--allow-truncated" "$WORK/err" || fail "truncation message does not say what to do"
expect 0 "results are partial" "$GILSCOPE" report --allow-truncated "$WORK/cut.gst"
grep -q '^PARTIAL' "$WORK/out" || fail "text report not marked partial"
"$GILSCOPE" report --json --allow-truncated "$WORK/cut.gst" > "$WORK/cut.json" 2>/dev/null \
  || fail "--allow-truncated --json"
[ "$(json_get "$WORK/cut.json" 'd["partial"]')" = True ] || fail "JSON not marked partial"

# Cut in the middle of a busy trace: every thread's stream stops at a
# different time; allowed, the contradictions at the cut become gaps.
"$GILSCOPE" run countdown --policy legacy --check-ticks 1 --threads 3 \
  --units 150000 -o "$WORK/busy.gst" >/dev/null || fail "gilscope run (busy)"
bsize=$(stat -c %s "$WORK/busy.gst")
head -c $((bsize / 2)) "$WORK/busy.gst" > "$WORK/half.gst"
expect 1 "trace is truncated" "$GILSCOPE" report "$WORK/half.gst"
"$GILSCOPE" report --json --allow-truncated "$WORK/half.gst" > "$WORK/half.json" \
  2>/dev/null || fail "--allow-truncated on a trace cut in half"
[ "$(json_get "$WORK/half.json" 'd["partial"]')" = True ] || fail "half: not partial"
json_get "$WORK/half.json" 'd["runtime"]["acquisitions"] > 0 or exit(1)' >/dev/null \
  || fail "half: nothing analysed"

mkdir "$WORK/dir"
expect 1 "a directory without a CTF \`metadata\` file" "$GILSCOPE" report "$WORK/dir"
expect 1 "No such file or directory" "$GILSCOPE" report "$WORK/nope.gst"
expect 1 "no thread matches -t 'nosuchthread'" \
  "$GILSCOPE" report -t nosuchthread "$WORK/good.gst"

expect 2 "missing TRACE" "$GILSCOPE" report
expect 2 "--from wants a time like 500us, 10ms or 1.5s (a bare number: nanoseconds), not 'soon'" "$GILSCOPE" report --from soon "$WORK/good.gst"
expect 2 "exclude each other" "$GILSCOPE" report --json --csv "$WORK/good.gst"
"$GILSCOPE" report --help | grep -- "--allow-truncated" > /dev/null || fail "--help"
echo ok
