#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Real-world builds, tzbuild beside docker's BuildKit in one run: the apt-get tools image and the
# multi-stage Node.js service of test/e2e/realworld/apps, unmodified (FROM debian:bookworm and
# node:20), with a local registry as both tools' Docker Hub mirror. The bases are the test suite's
# (test/helpers/real-bases.ts: debootstrap + this machine's Node, made by running
# test/e2e/realworld/bases.test.ts). Per app: cold (empty build cache, base present), no-op, one
# source file changed; median of N, the tools interleaved per app. RUN steps reach Debian's mirror
# and the npm registry, so these times include the network.
#   bench/realworld.sh      (root, Debian 12, docker.io, docker-registry, skopeo)
# Each build's network-bound steps (npm ci, apt-get: bench/lib/step-times.mjs) are summed from
# its log, so the report also gives the time outside them; tzbuild's peak memory (max RSS) too.
# Environment: BENCH_N (3), BENCH_APPS ("apt-tools node-service"), BENCH_TMPDIR (/tmp),
# BENCH_BASES=DIR (a real-bases-* dir test/e2e/realworld/bases.test.ts made, e.g. in another
# checkout's .tzbuild-test: used as is instead of running that test here).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
# shellcheck source=lib/common.sh
source "$BENCH/lib/common.sh"
# shellcheck source=lib/dockerd.sh
source "$BENCH/lib/dockerd.sh"

N=${BENCH_N:-3}
APPS=${BENCH_APPS:-apt-tools node-service}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tzreal.XXXXXX")
RAW=$WORK/raw.tsv
TZ_STORE=$WORK/tzbuild-store

log() { printf 'realworld: %s\n' "$*" >&2; }

cleanup() {
  dockerd_stop || true
  registry_stop
  awk -v d="$WORK/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# The test suite's bases (made on the first run, minutes), pushed as Docker Hub's names.
push_bases() {
  local bases=${BENCH_BASES:-}
  if [ -z "$bases" ]; then
    (cd "$REPO" && npx vitest run --project e2e test/e2e/realworld/bases.test.ts >&2)
    bases=$(find "$REPO/.tzbuild-test" -maxdepth 1 -name 'real-bases-*' -printf '%T@ %p\n' |
      sort -rn | head -n 1 | cut -d' ' -f2)
  fi
  skopeo copy --quiet --dest-tls-verify=false --dest-compress "oci:$bases/debian-layout:base" \
    "docker://$REG/library/debian:bookworm"
  skopeo copy --quiet --dest-tls-verify=false --dest-compress "oci:$bases/node-layout:base" \
    "docker://$REG/library/node:20"
}

tz() { "$REPO/bin/tzbuild" --root "$TZ_STORE" "$@"; }

# Runs a command, writing its max RSS in KB to FILE (nothing when GNU time is not installed).
max_rss() {
  local file=$1
  shift
  if [ -x /usr/bin/time ]; then /usr/bin/time -f %M -o "$file" "$@"; else "$@"; fi
}

# An empty build cache with the bases present, as `docker pull` leaves them: pulled and unpacked
# (docker's pull unpacks the layers; tzbuild unpacks a base's snapshots on first use, so a
# throwaway build of each base does it here). Not timed.
reset_tool() {
  case $1 in
    tzbuild)
      awk -v d="$TZ_STORE/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
      rm -rf "$TZ_STORE" && mkdir -p "$TZ_STORE" "$WORK/unpack"
      printf '{"registry-mirrors":["http://%s"],"hub-fallback":false}\n' "$REG" >"$TZ_STORE/config.json"
      local base
      for base in debian:bookworm node:20; do
        tz pull -q "$base" >/dev/null
        printf 'FROM %s\nRUN true\n' "$base" >"$WORK/unpack/Dockerfile"
        tz build -q "$WORK/unpack" >/dev/null
      done
      ;;
    buildkit)
      dk builder prune -af >/dev/null
      dk image rm -f bench-apt-tools bench-node-service >/dev/null 2>&1 || true
      dk pull -q debian:bookworm >/dev/null && dk pull -q node:20 >/dev/null
      ;;
  esac
}

build_once() {
  local tool=$1 app=$2 logfile=$3
  case $tool in
    tzbuild) max_rss "$logfile.rss" "$REPO/bin/tzbuild" --root "$TZ_STORE" build --progress plain -t "bench-$app" \
      "$WORK/ctx/$app" ;;
    buildkit) DOCKER_BUILDKIT=1 dk build --network=host --progress=plain -t "bench-$app" "$WORK/ctx/$app" ;;
  esac >"$logfile" 2>&1
}

# Appends "tool app phase seconds network_seconds max_rss_kb" to RAW.
measure() {
  local tool=$1 app=$2 phase=$3 run=$4 start secs net rss='' logfile=$WORK/logs/$1-$2-$3-$4.log
  start=$(now_ns)
  build_once "$tool" "$app" "$logfile" || { log "$tool $app $phase failed:"; tail -n 20 "$logfile" >&2; exit 1; }
  secs=$(seconds_since "$start")
  net=$(node "$BENCH/lib/step-times.mjs" "$logfile")
  [ ! -f "$logfile.rss" ] || rss=$(tail -n 1 "$logfile.rss")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$app" "$phase" "$secs" "$net" "$rss" >>"$RAW"
  log "$(printf '%-12s %-9s %-8s %d/%d %7.2f s (network steps %s s)' "$app" "$tool" "$phase" "$run" "$N" "$secs" \
    "$net")"
}

# A source change each run: the service's code, the tools image's script.
change_source() {
  case $1 in
    apt-tools) printf '# %s\n' "$2" >>"$WORK/ctx/apt-tools/check.sh" ;;
    node-service) printf '// %s\n' "$2" >>"$WORK/ctx/node-service/src/index.ts" ;;
  esac
}

# The tools take turns within each round, so a burst of load (or a slow mirror) falls on both.
bench_app() {
  local app=$1 tool i
  for i in $(seq 1 "$N"); do
    for tool in tzbuild buildkit; do reset_tool "$tool"; measure "$tool" "$app" cold "$i"; done
  done
  for i in $(seq 1 "$N"); do for tool in tzbuild buildkit; do measure "$tool" "$app" noop "$i"; done; done
  for i in $(seq 1 "$N"); do
    for tool in tzbuild buildkit; do
      change_source "$app" "$tool-$i-$(now_ns)"
      measure "$tool" "$app" onefile "$i"
    done
  done
}

main() {
  mkdir -p "$WORK/logs" "$WORK/ctx" "$BENCH/results"
  : >"$RAW"
  (cd "$REPO" && npm run --silent build >&2)
  registry_start "$WORK/registry"
  REG=$REGISTRY
  push_bases
  DOCKERD_ARGS=(--registry-mirror "http://$REG" --insecure-registry "$REG")
  dockerd_start "$WORK/dockerd"
  local app
  for app in $APPS; do
    cp -r "$REPO/test/e2e/realworld/apps/$app" "$WORK/ctx/$app"
    bench_app "$app"
  done
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  node "$BENCH/lib/realworld-report.mjs" "$RAW" "$(git -C "$REPO" rev-parse --short HEAD)" "$N" "$load" \
    >"$BENCH/results/realworld.md"
  cat "$BENCH/results/realworld.md"
}

main "$@"
