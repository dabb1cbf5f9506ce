#!/usr/bin/env bash
# Integrity of native traces (docs/reliability.md): any damaged byte of a
# real trace makes `gilscope report` fail with the file, the offset and the
# block; it never prints another report with exit 0. Traces of the previous
# format version (1, no checksums) still read.
source "$(dirname "$0")/lib.sh"

"$GILSCOPE" run countdown --threads 4 --units 600000 --interval-us 100 -o "$WORK/t.gst" >/dev/null \
  || fail "gilscope run"
"$GILSCOPE" report --json "$WORK/t.gst" > "$WORK/good.json" || fail "report of the good trace"

# Single-byte changes over every part of the file: every header field, and
# in each block (THREAD, CHUNK, END) one byte in three of its head and first
# 256 payload bytes and its last 8 bytes, each in a fresh copy. (Per block,
# not over the whole file: the run's switch count, so the trace's size,
# follows the machine's load, and one report per byte in three of a trace
# grown under load ran past the test's 900 s timeout.)
python3 - "$GILSCOPE" "$WORK" <<'PY' || fail "a damaged trace was reported with exit 0"
import filecmp, random, re, struct, subprocess, sys
gs, work = sys.argv[1], sys.argv[2]
good = open(work + "/t.gst", "rb").read()
rng = random.Random(14)
first = struct.unpack_from("<I", good, 12)[0]
offs = set(range(0, first, 4))
off = first
while off < len(good):
    size = struct.unpack_from("<II", good, off)[1]
    end = min(off + 16 + size, len(good))
    offs.update(range(off, min(end, off + 16 + 256), 3))
    offs.update(range(max(off, end - 8), end))
    off = end
offs = sorted(offs | {len(good) - 1})
bad = 0
for off in offs:
    d = bytearray(good)
    d[off] ^= rng.choice([0x01, 0x10, 0x80, 0xff])
    path = work + "/flip.gst"
    open(path, "wb").write(d)
    r = subprocess.run([gs, "report", "--json", path], capture_output=True, text=True)
    if r.returncode == 0:
        same = r.stdout == open(work + "/good.json").read()
        print("byte %d: exit 0 with %s" % (off, "the same report" if same else "another report"))
        bad += 1
    elif not re.match(r"gilscope report: %s: offset \d+: " % re.escape(path), r.stderr):
        print("byte %d: message does not name file and offset: %s" % (off, r.stderr))
        bad += 1
print("%d damaged copies, %d accepted or badly reported" % (len(offs), bad))
sys.exit(1 if bad or len(offs) < 300 else 0)
PY

# The issue's example: END's end_ns multiplied; a lost count of 2^63.
python3 - "$WORK/t.gst" "$WORK" <<'PY'
import struct, sys
path, work = sys.argv[1], sys.argv[2]
d = bytearray(open(path, "rb").read())
off = struct.unpack_from("<I", d, 12)[0]
while True:
    t, size = struct.unpack_from("<II", d, off)
    if t == 0x47530003:
        break
    off += 16 + size
e = bytearray(d); e[off + 16 + 5] ^= 0x40          # end_ns, a high byte
open(work + "/endns.gst", "wb").write(e)
l = bytearray(d); l[off + 16 + 16 + 7] = 0x80       # total_lost = 2^63
open(work + "/lost.gst", "wb").write(l)
PY
for f in endns lost; do
  rc=0; "$GILSCOPE" report "$WORK/$f.gst" > /dev/null 2> "$WORK/err" || rc=$?
  [ "$rc" = 1 ] || fail "$f: exit $rc"
  grep -q "block [0-9]* (END): checksum" "$WORK/err" || { cat "$WORK/err" >&2; fail "$f: no checksum error"; }
done

# Version 1 files (no checksums) still read, with the same results as before.
v1="$GILSCOPE_SRC/tests/fuzz/corpus/native/countdown.gst"
[ "$(od -An -tu2 -j8 -N2 "$v1" | tr -d ' ')" = 1 ] || fail "corpus file is not version 1"
"$GILSCOPE" report --json "$v1" > "$WORK/v1.json" || fail "version 1 trace not read"
[ "$(json_get "$WORK/v1.json" 'd["trace"]["events"]')" = 15 ] || fail "version 1: wrong event count"
echo ok
