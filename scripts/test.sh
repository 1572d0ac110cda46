#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need when it is missing, builds, runs
# vitest. Works as root on a fresh Debian 12 machine; quick and quiet when everything is there.
# Extra arguments go to vitest: `npm test -- test/e2e/runners`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the tests use: real runtimes, registry, docker, a terminal for the integration
# tests; the linter of helpers/*.sh (npm run lint); emulation of other platforms (test/e2e/platforms
# registers the handler it needs; `file` reads what each platform's build made).
APT_PACKAGES=(
  runc crun fuse-overlayfs uidmap busybox-static skopeo umoci docker-registry docker.io tmux apache2-utils libcap2-bin
  zstd shellcheck qemu-user-static binfmt-support file
)

log() { printf 'test.sh: %s\n' "$*" >&2; }

missing_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$pkg"
  done
}

install_system_packages() {
  local missing
  missing=$(missing_packages)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages (install them as root): $(echo $missing)"
    return 1
  fi
  log "installing: $(echo $missing)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $missing
}

# Node is not an apt package here (Debian 12 ships 18): say so clearly instead of failing later.
check_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || major=0
  if [ "$major" -lt 20 ]; then
    log "Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))"
    return 1
  fi
}

install_node_modules() {
  [ -d node_modules ] && return 0
  log "installing node modules (npm ci)"
  npm ci --no-audit --no-fund
}

build() {
  log "building (tsc, bundle)"
  npx tsc -p tsconfig.json
  node scripts/bundle.mjs
  # Tests are type-checked too (vitest strips types without checking them).
  npx tsc -p tsconfig.test.json
}

# Formatting and lint (Biome), lines of at most 120 characters, and the helper programs, which
# run outside TypeScript's checks (perl -c on each .pl, shellcheck on each .sh): npm run lint.
lint() {
  log "checking format and lint (biome, line length, helpers/)"
  npm run --silent lint
}

# Services (a private dockerd, a registry on 127.0.0.1) are started by the suites that need them,
# each its own, and stopped by them (test/helpers/dockerd.ts, the registry suites): nothing here.

main() {
  install_system_packages
  check_node
  install_node_modules
  build
  lint
  local report status=0
  report=$(mktemp)
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
  # One plain closing line, whatever the reporter printed above it.
  node scripts/test-summary.mjs "$report" || true
  rm -f "$report"
  return "$status"
}

main "$@"
