#!/usr/bin/env bash
# Installs every Debian package gilscope needs to build, test and demo.
# Idempotent: when all packages are present it only checks and returns.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  clang llvm lld libclang-rt-14-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev
  systemtap-sdt-dev
  liblttng-ust-dev lttng-tools babeltrace2 libbabeltrace2-dev
  bpftrace trace-cmd linux-perf
  libcmocka-dev hyperfine valgrind spin
  chromium nodejs protobuf-compiler
  python3
  libdw-dev libdebuginfod-dev elfutils libcapstone-dev patchelf prometheus
  debuginfod
  gdb
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exec "$(dirname "$0")/install-js-deps.sh"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
exec "$(dirname "$0")/install-js-deps.sh"
