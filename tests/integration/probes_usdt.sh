#!/bin/bash
# libgil.so carries every catalog event it emits as a USDT probe gil:NAME
# with its semaphore (gil_NAME_semaphore in .probes), and every probe site
# is the 5-byte nop (0f 1f 44 00 00) the kernel can turn into a direct call.
# Read from the ELF file itself (readelf), no tracer needed.
. "$(dirname "$0")/lib.sh"
require_cmd readelf python3

[ -f "$LIBGIL" ] || fail "$LIBGIL not built"

readelf -nW "$LIBGIL" > "$WORK/notes.txt"
readelf -SW "$LIBGIL" > "$WORK/sections.txt"
readelf -sW "$LIBGIL" > "$WORK/symbols.txt"

python3 - "$LIBGIL" "$GILSCOPE_SRC/probes/gil_events.h" "$WORK" "$(uname -m)" <<'EOF'
import re, sys
lib, catalog_h, work, arch = sys.argv[1:5]

# Events libgil cannot emit: the catalog's `from` column says which (the
# scheduler's, the recorders' own). Everything else must be a probe.
rows = re.findall(r"X\(\s*\d+\s*,\s*(\w+)\s*,\s*\w+\s*,\s*\w+\s*,\s*\w+\s*,\s*\d\s*,\s*(\w+)\s*,",
                  open(catalog_h).read())
assert rows, "no events parsed from " + catalog_h
catalog = [name for name, _ in rows]
NOT_FROM_LIBGIL = {name for name, src in rows if src not in ("usdt", "usdt_req")}
assert {"sched_switch_out", "lost"} <= NOT_FROM_LIBGIL, \
    "the from column no longer marks scheduler/recorder events: %s" % rows

probes = []  # (provider, name, location, semaphore)
cur = {}
for line in open(work + "/notes.txt"):
    m = re.search(r"Provider: (\S+)", line)
    if m:
        cur = {"provider": m.group(1)}
    m = re.search(r"Name: (\S+)", line)
    if m:
        cur["name"] = m.group(1)
    m = re.search(r"Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)", line)
    if m:
        cur["loc"] = int(m.group(1), 16)
        cur["sema"] = int(m.group(3), 16)
        probes.append(dict(cur))

sections = []  # (name, addr, off, size)
for line in open(work + "/sections.txt"):
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        sections.append((m.group(1), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16)))

def section_of(addr):
    for name, a, off, size in sections:
        if a and a <= addr < a + size:
            return name, addr - a + off
    return None, None

symbols = {}
for line in open(work + "/symbols.txt"):
    f = line.split()
    if len(f) >= 8 and f[7].endswith("_semaphore"):
        symbols[f[7]] = int(f[1], 16)

data = open(lib, "rb").read()
errors = []
by_name = {}
for p in probes:
    if p["provider"] != "gil":
        continue
    by_name.setdefault(p["name"], []).append(p)
    if p["sema"] == 0:
        errors.append("gil:%s at 0x%x has no semaphore (gil_probes.h not the first sys/sdt.h include?)" % (p["name"], p["loc"]))
    want = symbols.get("gil_%s_semaphore" % p["name"])
    if want is None or want != p["sema"]:
        errors.append("gil:%s semaphore 0x%x is not gil_%s_semaphore (%s)" % (p["name"], p["sema"], p["name"], hex(want) if want is not None else "missing"))
    sname, _ = section_of(p["sema"])
    if sname != ".probes":
        errors.append("gil:%s semaphore lives in %s, not .probes" % (p["name"], sname))
    tname, off = section_of(p["loc"])
    if tname != ".text":
        errors.append("gil:%s site 0x%x is in %s, not .text" % (p["name"], p["loc"], tname))
        continue
    site = data[off:off + 5]
    # gil_probes.h only swaps in the 5-byte nop on x86-64
    if arch == "x86_64" and site != bytes([0x0f, 0x1f, 0x44, 0x00, 0x00]):
        errors.append("gil:%s site 0x%x holds %s, not the 5-byte nop 0f 1f 44 00 00" % (p["name"], p["loc"], site.hex(" ")))

for ev in catalog:
    if ev in NOT_FROM_LIBGIL:
        continue
    if ev not in by_name:
        errors.append("catalog event %s has no gil:%s USDT probe in %s" % (ev, ev, lib))
for name in by_name:
    if name not in catalog:
        errors.append("probe gil:%s is not in the catalog" % name)

for e in errors:
    print("FAIL:", e, file=sys.stderr)
n = sum(len(v) for v in by_name.values())
print("%d gil:* probe sites for %d events checked" % (n, len(by_name)))
sys.exit(1 if errors else 0)
EOF
