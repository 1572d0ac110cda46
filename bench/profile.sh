#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# CPU profiles of tzbuild on one benchmark context: cold, no-op and one-file-changed builds run
# under `node --cpu-prof`, each summarised (self time by package/file and by function) with
# bench/lib/profile-top.mjs. No docker needed.
#   bench/profile.sh [CONTEXT]      CONTEXT: small many big multistage deletions (default big)
# Environment: BENCH_SMALL_FILES, BENCH_BIG_MB as for run.sh; BENCH_PROFILE_KEEP=DIR keeps the
# .cpuprofile files there (open them in Chrome DevTools) instead of deleting them.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
# shellcheck source=lib/busybox.sh
source "$BENCH/lib/busybox.sh"
# shellcheck source=lib/contexts.sh
source "$BENCH/lib/contexts.sh"
# shellcheck source=lib/builders.sh
source "$BENCH/lib/builders.sh"

CTX_NAME=${1:-big}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tzbench-prof.XXXXXX")
# shellcheck disable=SC2034 # read by lib/builders.sh
TZ_STORE=$WORK/tzbuild-store
BASE_TAR=$WORK/busybox.tar
PROFILES=${BENCH_PROFILE_KEEP:-$WORK/profiles}

cleanup() {
  unmount_under "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One profiled build; prints wall and CPU time, then the profile's top entries.
profiled_build() {
  local phase=$1 dir=$PROFILES/$CTX_NAME-$1
  mkdir -p "$dir"
  /usr/bin/time -f "$phase: %e s wall, %U s user, %S s sys, %M KB max RSS" \
    node --cpu-prof --cpu-prof-dir="$dir" "$REPO/bin/tzbuild" --root "$TZ_STORE" -t "bench-$CTX_NAME:latest" \
      "$WORK/ctx" \
    >"$WORK/$phase.log" 2>&1 || { tail -n 20 "$WORK/$phase.log"; exit 1; }
  tail -n 1 "$WORK/$phase.log"
  node "$BENCH/lib/profile-top.mjs" "$dir"/*.cpuprofile 15
  echo
}

(cd "$REPO" && npm run --silent build >&2) || [ -f "$REPO/dist/tzbuild/start.js" ]
busybox_archive "$REPO" "$WORK/helper" "$BASE_TAR"
make_context "$CTX_NAME" "$WORK/ctx"
tzbuild_reset "$REPO" "$TZ_STORE"
profiled_build cold
profiled_build noop
change_one_file "$CTX_NAME" "$WORK/ctx" "profile-$(date +%s%N)"
profiled_build onefile
