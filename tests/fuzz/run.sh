#!/usr/bin/env bash
# Runs one libFuzzer target on its seed corpus and regressions without
# writing into the source tree: new inputs go to a scratch corpus, crash
# inputs to $GS_FUZZ_ARTIFACTS (default: a directory under the build) so
# they can be copied into tests/fuzz/regressions/NAME/.
# Usage: run.sh FUZZER SRC_DIR NAME [libFuzzer flags...]
#   e.g. run.sh build/tests/fuzz/clang/fuzz_native tests/fuzz native -max_total_time=600
set -euo pipefail
fuzzer=$1 src=$2 name=$3
shift 3
[ -x "$fuzzer" ] || { echo "run.sh: $fuzzer not built" >&2; exit 1; }
art=${GS_FUZZ_ARTIFACTS:-$(dirname "$fuzzer")/artifacts/$name}
mkdir -p "$art"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gsfuzz-corpus.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
dict=()
[ -f "$src/$name.dict" ] && dict=(-dict="$src/$name.dict")
# Babeltrace and GLib keep caches for the life of the process: not ours.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$fuzzer" -artifact_prefix="$art/" -timeout=20 -rss_limit_mb=2048 \
	-max_len=65536 -print_final_stats=1 "${dict[@]}" "$@" \
	"$scratch" "$src/corpus/$name" "$src/regressions/$name"
