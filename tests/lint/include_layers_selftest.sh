#!/usr/bin/env bash
# The include-layer check (scripts/check-include-layers.py) must catch a
# lower layer including a higher one. Copies the real tree's layered folders,
# plants violations one at a time and expects the check to fail naming the
# file, the line and the header; the untouched copy must pass.
set -euo pipefail
SRC=${GILSCOPE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK="$SRC/scripts/check-include-layers.py"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fresh_copy() {
	rm -rf "$WORK/t" && mkdir "$WORK/t"
	(cd "$SRC" && tar -cf - --exclude='build*' --exclude=node_modules \
		lib probes runtime analysis bench tools tests/unit) | tar -xf - -C "$WORK/t"
}

fresh_copy
python3 "$CHECK" "$WORK/t" >"$WORK/out" ||
	{ cat "$WORK/out"; echo "FAIL: the unchanged tree breaks the rule"; exit 1; }

# expect_violation FILE 'INCLUDE LINE' EXPECTED-HEADER-PATH
expect_violation() {
	local file=$1 line=$2 header=$3 n
	fresh_copy
	n=$(($(wc -l <"$WORK/t/$file") + 1))
	printf '%s\n' "$line" >>"$WORK/t/$file"
	if python3 "$CHECK" "$WORK/t" >"$WORK/out"; then
		cat "$WORK/out"
		echo "FAIL: $file with '$line' passed the check"
		exit 1
	fi
	grep -q "^$file:$n: includes $header " "$WORK/out" || {
		cat "$WORK/out"
		echo "FAIL: no report of $file:$n including $header"
		exit 1
	}
	echo "ok: $file:$n -> $header caught"
}

expect_violation lib/json_writer.c '#include "analyze.h"' analysis/model/analyze.h
expect_violation probes/recorder.c '#include "gil.h"' runtime/include/gil.h
expect_violation runtime/gil.c '#include "source.h"' analysis/sources/source.h
expect_violation analysis/sources/source_perf.c '#include "metrics.h"' analysis/model/metrics.h
expect_violation analysis/model/metrics.c '#include "report.h"' analysis/render/report.h
expect_violation analysis/render/report.c '#include "replay_exec.h"' analysis/replay/replay_exec.h
expect_violation analysis/model/phases.c '#include "../../tools/gilscope/commands.h"' tools/gilscope/commands.h
expect_violation bench/common.c '#include "report.h"' analysis/render/report.h

# A source file beside the stage folders belongs to no layer.
fresh_copy
printf 'int x;\n' >"$WORK/t/analysis/stray.c"
if python3 "$CHECK" "$WORK/t" >"$WORK/out" || ! grep -q '^analysis/stray.c:1: in no layer' "$WORK/out"; then
	cat "$WORK/out"; echo "FAIL: analysis/stray.c not reported"; exit 1
fi
echo "ok: analysis/stray.c reported as in no layer"
echo "include-layer check: 9 planted violations caught, clean tree passes"
