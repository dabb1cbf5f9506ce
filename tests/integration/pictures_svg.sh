#!/usr/bin/env bash
# gilscope export -f svg (the static picture for documents): well-formed XML
# with one row per thread and the window asked for, and Chromium renders it
# (a screenshot with the states' colours in it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pictures_common.bash"
need_browser
record_convoy "$WORK/convoy.gst"

"$GILSCOPE" export -q -f svg --from 50ms --to 250ms --width 1000 "$WORK/convoy.gst" \
  -o "$WORK/convoy.svg" || fail "export -f svg failed"
python3 - "$WORK/convoy.svg" <<'PY' || fail "SVG structure"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.get("width") == "1000", root.get("width")
rows = root.findall(f".//{ns}g[@class='row']")
assert len(rows) == 3, len(rows)
fills = {r.get("fill") for g in rows for r in g.iter(f"{ns}rect")}
# hold, wait, blocked: a loaded machine may leave one out of a window
assert len(fills & {"#2e9d4f", "#e8a33d", "#4a7fd0"}) >= 2, fills
text = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
assert "window 50 ms to 250 ms" in text, text[:200]
PY
cd "$WORK"
timeout 120 chromium --headless --no-sandbox --disable-gpu \
  --disable-background-networking --disable-component-update --disable-sync \
  --no-first-run --user-data-dir="$WORK/profile" --window-size=1000,260 \
  --screenshot="$WORK/svg.png" "file://$WORK/convoy.svg" >/dev/null 2>&1 ||
  fail "chromium could not render the SVG"
python3 - "$WORK/svg.png" <<'PY' || fail "the rendered SVG lacks the state colours"
import struct, sys, zlib
# Minimal PNG reader (8-bit RGB/RGBA, as Chromium writes): count pixels near
# the hold (46,157,79), wait (232,163,61) and blocked (74,127,208) colours.
data = open(sys.argv[1], "rb").read()
pos, chunks = 8, {}
idat = b""
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif typ == b"IDAT":
        idat += body
    pos += 12 + n
bpp = {2: 3, 6: 4}[ctype]
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
found = {"hold": 0, "wait": 0, "blocked": 0}
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        r, g, bb = line[x:x + 3]
        if abs(r - 46) < 12 and abs(g - 157) < 12 and abs(bb - 79) < 12: found["hold"] += 1
        if abs(r - 232) < 12 and abs(g - 163) < 12 and abs(bb - 61) < 12: found["wait"] += 1
        if abs(r - 74) < 12 and abs(g - 127) < 12 and abs(bb - 208) < 12: found["blocked"] += 1
    prev = line
print("svg pixels:", found)
assert sum(1 for v in found.values() if v > 200) >= 2, found
PY
echo "pictures_svg: ok"
