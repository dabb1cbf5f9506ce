#!/usr/bin/env bash
# gilscope export -f chrome-json on a real convoy trace, read by two real
# consumers: Python's json module (structure: every phase we promise, flows
# paired, slices nested per thread, ts in us with ns decimals) and speedscope
# (its own importer, in headless Chromium: Trace Event Format recognised, one
# profile per thread, the GIL states as frames).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pictures_common.bash"
need_browser
record_convoy "$WORK/convoy.gst"

"$GILSCOPE" export -q -f chrome-json "$WORK/convoy.gst" -o "$WORK/convoy.json" ||
  fail "export -f chrome-json failed"
python3 - "$WORK/convoy.json" <<'PY' || fail "Chrome JSON structure"
import collections, json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
ph = collections.Counter(e["ph"] for e in ev)
for p in "MXisfC":
    assert ph[p] > 0, f"no ph={p} event ({dict(ph)})"
names = {e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
assert len(names) == 3, names
s = {e["id"] for e in ev if e["ph"] == "s"}
f = {e["id"] for e in ev if e["ph"] == "f"}
assert s == f, "unpaired flows"
# X slices on one thread nest (no partial overlap): viewers need that
per = collections.defaultdict(list)
for e in ev:
    if e["ph"] == "X":
        assert e["dur"] >= 0
        per[e["tid"]].append((e["ts"], -e["dur"], e["ts"] + e["dur"]))
for tid, xs in per.items():
    xs.sort()
    stack = []
    for ts, _, end in xs:
        # ts + dur in binary floating point: allow 0.1 ns of rounding
        while stack and stack[-1] <= ts + 1e-4:
            stack.pop()
        assert not stack or end <= stack[-1] + 1e-4, f"tid {tid}: overlap at {ts}"
        stack.append(end)
# ts/dur: microseconds written with at most 3 decimals (exact ns)
import re
raw = open(sys.argv[1]).read()
dec = re.findall(r'"(?:ts|dur)":\d+(?:\.(\d+))?', raw)
assert dec and all(len(x) <= 3 for x in dec), "ts/dur with more than ns precision"
assert any(len(x) == 3 for x in dec), "no ns fractions at all"
states = {e["name"] for e in ev if e["ph"] == "X"}
assert {"hold GIL", "wait GIL"} <= states, states
print("chrome json:", dict(ph), sorted(states))
PY

out=$(cd "$JS" && node check_speedscope.mjs "$WORK/convoy.json" --threads 3 \
  --frames "hold GIL,wait GIL,blocked: sleep" --screenshot "$WORK/speedscope.png") ||
  fail "speedscope: $out"
echo "$out"

# A window is smaller and still a valid import.
"$GILSCOPE" export -q -f chrome-json --from 100ms --to 120ms "$WORK/convoy.gst" \
  -o "$WORK/window.json" || fail "windowed export failed"
[ "$(stat -c %s "$WORK/window.json")" -lt "$(stat -c %s "$WORK/convoy.json")" ] ||
  fail "the window is not smaller than the whole trace"
out=$(cd "$JS" && node check_speedscope.mjs "$WORK/window.json") ||
  fail "speedscope (window): $out"

# Usage errors exit 2, a bad trace exits 1 naming the file.
set +e
"$GILSCOPE" export -f nosuch "$WORK/convoy.gst" 2>/dev/null; [ $? -eq 2 ] || fail "bad format: want exit 2"
"$GILSCOPE" export -f chrome-json --from 10s "$WORK/convoy.gst" -o "$WORK/x.json" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'window is empty' "$WORK/err" || fail "empty window: $(cat "$WORK/err")"
echo garbage >"$WORK/bad.gst"
"$GILSCOPE" export -f perfetto "$WORK/bad.gst" -o "$WORK/x.pftrace" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'bad.gst' "$WORK/err" || fail "bad trace: $(cat "$WORK/err")"
set -e
echo "pictures_chrome: ok"
