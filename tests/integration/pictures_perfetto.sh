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
python3 "$(dirname "$0")/pictures_check.py" perfetto "$WORK/convoy.txt" "$WORK/convoy.json" 3 ||
  fail "Perfetto structure"
echo "pictures_perfetto: ok"
