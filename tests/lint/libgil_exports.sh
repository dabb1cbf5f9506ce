#!/usr/bin/env bash
# libgil.so exports exactly the list in docs/api.md ("What libgil.so
# exports"), plus LTTng-UST's tracepoint definitions in an LTTng build.
set -euo pipefail
SRC=${GILSCOPE_SRC:?} BUILD=${GILSCOPE_BUILD:?}
LIB="$BUILD/runtime/libgil.so"
[ -f "$LIB" ] || { echo "FAIL: $LIB not built"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

sed -n '/<!-- exports: begin -->/,/<!-- exports: end -->/p' "$SRC/docs/api.md" |
	grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | sort -u >"$WORK/documented"
[ -s "$WORK/documented" ] || { echo "FAIL: no export list in docs/api.md"; exit 1; }

nm -D --defined-only "$LIB" | awk '{ print $NF }' | sort -u >"$WORK/all"
# LTTng-UST's TRACEPOINT_DEFINE gives its definitions default visibility.
grep -Ev '^(lttng_ust_tracepoint_gil___[a-z_0-9]+|__(start|stop)_lttng_ust_tracepoints_ptrs)$' \
	"$WORK/all" >"$WORK/exported" || true

if ! diff -u "$WORK/documented" "$WORK/exported" >"$WORK/diff"; then
	echo "FAIL: nm -D --defined-only $LIB differs from docs/api.md"
	echo "(- documented, not exported; + exported, not documented):"
	grep '^[-+][^-+]' "$WORK/diff"
	exit 1
fi
echo "libgil.so exports the $(wc -l <"$WORK/documented") documented symbols" \
	"($(($(wc -l <"$WORK/all") - $(wc -l <"$WORK/exported"))) LTTng-UST tracepoint definitions besides)"
