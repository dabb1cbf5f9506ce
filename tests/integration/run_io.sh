#!/usr/bin/env bash
# gilscope run io: per-thread ops and bytes, blocking regions in the trace,
# and the temp dir removed afterwards.
source "$(dirname "$0")/lib.sh"
CHECK="python3 $GILSCOPE_SRC/tests/integration/run_trace_check.py"

mkdir "$WORK/tmp"
"$GILSCOPE" run io --threads 2 -k 1 -d 0.3 --fsync-every 2 --dir "$WORK/tmp" \
  --json -o "$WORK/io.gst" > "$WORK/io.json" || fail "run"
json_get "$WORK/io.json" 'd["ops"] > 0 and d["bytes_written"] > 0 and d["bytes_read"] > 0 or exit(1)' \
  >/dev/null || fail "no I/O"
json_get "$WORK/io.json" \
  'all(t["ops"] > 0 and t["ops_per_s"] > 0 and t["bytes_written"] > 0 for t in d["threads"] if t["role"] == "io") or exit(1)' \
  >/dev/null || fail "per-thread I/O"
[ "$(json_get "$WORK/io.json" 'len(d["threads"])')" = 3 ] || fail "threads"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "temp files left: $(ls -A "$WORK/tmp")"
$CHECK "$WORK/io.gst" match "$WORK/io.json" || fail "trace vs counters"
$CHECK "$WORK/io.gst" summary > "$WORK/s.json"
json_get "$WORK/s.json" 'd["counts"]["blocking_begin"] == d["counts"]["blocking_end"] > 0 or exit(1)' \
  >/dev/null || fail "blocking regions"

"$GILSCOPE" run io --dir /nonexistent/gilscope 2> "$WORK/err" && fail "bad --dir accepted"
grep -q "/nonexistent/gilscope" "$WORK/err" || fail "error does not name the dir"
echo ok
