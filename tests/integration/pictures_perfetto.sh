#!/usr/bin/env bash
# gilscope export -f perfetto on a real convoy trace, decoded by protoc (an
# independent protobuf implementation) against Perfetto's field numbers
# (tests/perfetto/gilscope_perfetto.proto): the decode must succeed with no
# unknown field, slices must pair per track, every flow must start once and
# end once, and the slice count must equal the Chrome JSON export's X events.
# No Perfetto trace_processor is packaged for Debian or npm, so this is the
# consumer we can run here (docs/pictures.md).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pictures_common.bash"
require_cmd protoc python3
record_convoy "$WORK/convoy.gst"

"$GILSCOPE" export -q -f perfetto "$WORK/convoy.gst" -o "$WORK/convoy.pftrace" ||
  fail "export -f perfetto failed"
"$GILSCOPE" export -q -f chrome-json "$WORK/convoy.gst" -o "$WORK/convoy.json" ||
  fail "export -f chrome-json failed"
protoc --decode_raw <"$WORK/convoy.pftrace" >/dev/null || fail "not protobuf"
protoc -I"$GILSCOPE_SRC/tests/perfetto" --decode=perfetto.protos.Trace \
  gilscope_perfetto.proto <"$WORK/convoy.pftrace" >"$WORK/convoy.txt" ||
  fail "protoc cannot decode it as perfetto.protos.Trace"
python3 - "$WORK/convoy.txt" "$WORK/convoy.json" <<'PY' || fail "Perfetto structure"
import collections, json, re, sys
text = open(sys.argv[1]).read()
# protoc prints fields it does not know by number: there must be none
assert not re.search(r"^\s*\d+\s*[:{]", text, re.M), "unknown fields"
packets = text.split("\npacket {")
tracks, threads, begins = {}, 0, collections.Counter()
depth = collections.Counter()
flows_out, flows_in = collections.Counter(), collections.Counter()
last_ts = {}
for p in packets:
    ts = re.search(r"timestamp: (\d+)", p)
    seq = re.search(r"trusted_packet_sequence_id: (\d+)", p)
    if ts and seq:
        t, s = int(ts.group(1)), int(seq.group(1))
        assert t >= last_ts.get(s, 0), f"sequence {s} goes back in time at {t}"
        last_ts[s] = t
    if "track_descriptor" in p:
        threads += "thread {" in p
        continue
    m = re.search(r"type: (TYPE_\w+)\s+track_uuid: (\d+)", p)
    if not m:
        continue
    typ, track = m.groups()
    if typ == "TYPE_SLICE_BEGIN":
        depth[track] += 1
        begins[track] += 1
        assert depth[track] <= 2, f"track {track} nests deeper than GIL + off-CPU"
    elif typ == "TYPE_SLICE_END":
        depth[track] -= 1
        assert depth[track] >= 0, f"track {track}: END without BEGIN"
    for f in re.findall(r"\bflow_ids: (\d+)", p):
        flows_out[f] += 1
    for f in re.findall(r"terminating_flow_ids: (\d+)", p):
        flows_in[f] += 1
assert threads == 3, threads
assert all(v == 0 for v in depth.values()), dict(depth)
assert flows_out and set(flows_out) == set(flows_in), "flows do not pair"
assert max(flows_out.values()) == 1 and max(flows_in.values()) == 1
x = sum(1 for e in json.load(open(sys.argv[2]))["traceEvents"] if e["ph"] == "X")
assert sum(begins.values()) == x, f"{sum(begins.values())} slices vs {x} Chrome X events"
print(f"perfetto: {len(packets)} packets, {x} slices, {len(flows_out)} flows, 3 thread tracks")
PY
echo "pictures_perfetto: ok"
