#!/usr/bin/env bash
# Installs the Debian packages, builds gilscope with warnings as errors and
# runs the whole test suite through ctest. Usage: scripts/test.sh [ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${GILSCOPE_TEST_BUILD:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGILSCOPE_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
cd "$BUILD"
ctest --output-on-failure "$@"
[ "${GILSCOPE_SANITIZERS:-1}" = 0 ] || (cd "$OLDPWD" && scripts/test-sanitizers.sh)  # docs/reliability.md
