#!/usr/bin/env bash
# Builds gilscope twice more and runs the tests that exercise memory and
# threads under the sanitizers (docs/reliability.md, "Sanitizers"):
#   build-asan: -DGILSCOPE_SANITIZE=address,undefined, unit + stress tests
#               + the fuzz corpora and regressions replayed
#   build-tsan: -DGILSCOPE_SANITIZE=thread, runtime and recorder unit tests
#               + stress tests
# Any sanitizer report aborts the test that produced it, so ctest fails.
# Only the test programs are built (and no eBPF) to keep CI time low.
# Usage: scripts/test-sanitizers.sh [asan|tsan]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
which=${*:-asan tsan}

unit_targets() {
	for f in tests/unit/test_*.c; do
		basename "$f" .c
	done
	for f in tests/fuzz/fuzz_*.c; do
		[ "$f" = tests/fuzz/fuzz_common.c ] || echo "$(basename "$f" .c)_replay"
	done
}

configure() { # dir sanitizer
	cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGILSCOPE_WERROR=ON \
		-DGILSCOPE_SANITIZE="$2" -DGILSCOPE_WITH_BPF=OFF >/dev/null
}

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# Leaks inside babeltrace2/GLib (the CTF replay) are not ours: tests/fuzz/lsan.supp.
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0

for w in $which; do
	case $w in
	asan)
		echo "== ASan+UBSan: unit, stress and fuzz-replay tests"
		configure build-asan address,undefined
		# shellcheck disable=SC2046
		cmake --build build-asan -j"$jobs" --target gil_stress $(unit_targets)
		(cd build-asan && ctest --output-on-failure -j"$jobs" -L 'unit|stress|fuzz-replay')
		;;
	tsan)
		echo "== TSan: runtime and recorder unit tests, stress tests"
		configure build-tsan thread
		cmake --build build-tsan -j"$jobs" --target gil_stress \
			test_runtime_policies test_recorder
		# Some TSan runtimes cannot map their shadow under a high ASLR
		# entropy (vm.mmap_rnd_bits); run without address randomization
		# where allowed rather than change a sysctl.
		norand=()
		if setarch "$(uname -m)" -R true 2>/dev/null; then
			norand=(setarch "$(uname -m)" -R)
		fi
		(cd build-tsan && "${norand[@]}" ctest --output-on-failure \
			-j"$jobs" -R '^(unit/test_runtime_policies|unit/test_recorder|stress/)')
		;;
	*)
		echo "usage: scripts/test-sanitizers.sh [asan|tsan]..." >&2
		exit 2
		;;
	esac
done
echo "== sanitizers: no reports"
