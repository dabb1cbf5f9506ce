#!/usr/bin/env bash
# Installs the npm packages of the browser tests (tests/js/package.json,
# pinned by tests/js/package-lock.json) into tests/js/node_modules:
# playwright-core drives Debian's /usr/bin/chromium, speedscope is the real
# importer the Chrome JSON export is checked with. Contacts only the npm
# registry, and only when node_modules is missing or older than the lock file.
# Called by scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/../tests/js"
if ! command -v npm >/dev/null 2>&1; then
  # Debian's nodejs 18 ships npm separately (NodeSource's nodejs includes it).
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-js-deps: npm missing: run as root, or apt-get install npm" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
stamp=node_modules/.gilscope-package-lock.json
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
echo "install-js-deps: npm ci in tests/js (playwright-core, speedscope)" >&2
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
