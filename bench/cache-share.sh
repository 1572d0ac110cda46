#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The CI scenario for a shared build cache, tzbuild beside docker's BuildKit on one registry:
# machine A builds a commit and pushes its image and cache; machine B (an empty store) builds the
# same commit with the cache. Reports B's build time and the bytes B moved to and from the
# registry (a counting proxy in front of Debian's docker-registry on 127.0.0.1).
#   bench/cache-share.sh            (root, Debian 12, docker.io, docker-registry; ~2 min)
# Environment: BENCH_N (B builds per tool, median reported; 3), BENCH_MODES ("max min": the
# tzbuild --cache-to modes to run), BENCH_TMPDIR (/tmp).
# docker 20.10's client has no buildx, so BuildKit's side is its inline cache
# (--build-arg BUILDKIT_INLINE_CACHE=1, then --cache-from) on a private dockerd; inline cache
# holds the final stage only (BuildKit's mode=min).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
# shellcheck source=lib/common.sh
source "$BENCH/lib/common.sh"
# shellcheck source=lib/dockerd.sh
source "$BENCH/lib/dockerd.sh"
# shellcheck source=lib/busybox.sh
source "$BENCH/lib/busybox.sh"
# shellcheck source=lib/builders.sh
source "$BENCH/lib/builders.sh"

N=${BENCH_N:-3}
MODES=${BENCH_MODES:-max min}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tzcache.XXXXXX")
BASE_TAR=$WORK/busybox.tar
COUNTS=$WORK/counts.json
PROXY_PID=
REPORT=$WORK/report.md

log() { printf 'cache-share: %s\n' "$*" >&2; }

cleanup() {
  dockerd_stop || true
  [ -z "$PROXY_PID" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; } || true
  registry_stop
  unmount_under "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

downloaded() { node -e 'const c=require(process.argv[1]);console.log(c.down)' "$COUNTS"; }
uploaded() { node -e 'const c=require(process.argv[1]);console.log(c.up)' "$COUNTS"; }

# A CI-like three-stage build: dependencies (4 MiB that do not compress), a "compile" that costs
# CPU time, and a small final image that copies the result.
make_context() {
  local dir=$1
  mkdir -p "$dir/deps" "$dir/src" "$dir/config"
  for i in 1 2 3 4; do head -c 1048576 /dev/urandom >"$dir/deps/lib$i.so"; done
  for i in $(seq 1 200); do printf 'int f%d(void) { return %d; }\n' "$i" "$i" >"$dir/src/f$i.c"; done
  printf 'port = 8080\n' >"$dir/config/app.conf"
  cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM busybox:latest AS deps
COPY deps/ /deps/
RUN cat /deps/* | sha256sum > /deps/SUMS && i=0 && while [ $i -lt 600000 ]; do i=$((i+1)); done

FROM deps AS build
COPY src/ /src/
RUN mkdir -p /out && i=0 && while [ $i -lt 600000 ]; do i=$((i+1)); done && \
    cat /src/* /deps/SUMS | sha256sum > /out/app && tar -cf /out/src.tar /src

FROM busybox:latest
COPY --from=build /out/ /opt/app/
COPY config/ /etc/app/
RUN echo ready > /etc/app/ready
CMD ["cat", "/opt/app/app"]
DOCKERFILE
}

# The registry behind a counting proxy: REG is the proxy.
start_registry() {
  local proxy_port
  registry_start "$WORK/registry"
  proxy_port=$(free_port)
  node "$BENCH/lib/count-proxy.mjs" "$proxy_port" "${REGISTRY#127.0.0.1:}" "$COUNTS" &
  PROXY_PID=$!
  REG=127.0.0.1:$proxy_port
  for _ in $(seq 1 100); do
    curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "the counting proxy did not start"; return 1
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# B's build, N times after `reset` (an empty store each time): appends the row "label | median
# seconds | bytes down | bytes up | steps cached" to the report. Bytes are the same every run.
measure_b() {
  local label=$1 reset=$2 cached_pattern=$3 down0 up0 start run times=
  shift 3
  for run in $(seq 1 "$N"); do
    "$reset"
    down0=$(downloaded); up0=$(uploaded)
    echo "## $label, run $run" >>"$COUNTS.log"
    start=$(now_ns)
    "$@" >"$WORK/b.log" 2>&1 || { log "$label: B's build failed"; cat "$WORK/b.log" >&2; return 1; }
    times="$times $(seconds_since "$start")"
  done
  local secs cached
  secs=$(printf '%s\n' $times | median)
  cached=$(grep -cE "$cached_pattern" "$WORK/b.log" || true)
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$secs" "$(($(downloaded) - down0))" "$(($(uploaded) - up0))" \
    "$cached" >>"$REPORT"
  log "$label: B built in $times s (median $secs)"
}

tz() { "$REPO/bin/tzbuild" "$@"; }

fresh_tz_store() {
  local store=$1
  rm -rf "$store"; mkdir -p "$store"
  tz load --root "$store" "$BASE_TAR" >/dev/null
}

run_tzbuild() {
  local mode=$1
  TZ_A=$WORK/tz-$mode-a TZ_B=$WORK/tz-$mode-b
  fresh_tz_store "$TZ_A"
  log "tzbuild mode=$mode: A builds, pushes the image and the cache"
  echo "## A: tzbuild mode=$mode" >>"$COUNTS.log"
  tz build --root "$TZ_A" -q -t "$REG/tz-$mode/app:1" --push \
    --cache-to "type=registry,ref=$REG/tz-$mode/app:cache,mode=$mode" "$CTX" >/dev/null
  measure_b "tzbuild, --cache-to mode=$mode" tz_reset_b ' CACHED$' \
    "$REPO/bin/tzbuild" build --root "$TZ_B" --progress plain -t app:b \
      --cache-from "type=registry,ref=$REG/tz-$mode/app:cache" "$CTX"
  unmount_under "$TZ_A"; unmount_under "$TZ_B"
}

tz_reset_b() { unmount_under "$TZ_B"; fresh_tz_store "$TZ_B"; }

run_buildkit() {
  log "BuildKit inline cache: A builds and pushes"
  echo "## A: docker BuildKit" >>"$COUNTS.log"
  dockerd_start "$WORK/dockerd-a"
  dk load -i "$BASE_TAR" >/dev/null
  DOCKER_BUILDKIT=1 dk build --network=none --progress=plain --build-arg BUILDKIT_INLINE_CACHE=1 -t "$REG/bk/app:1" \
    "$CTX" >"$WORK/bk-a.log" 2>&1 || { cat "$WORK/bk-a.log" >&2; return 1; }
  dk push "$REG/bk/app:1" >/dev/null
  # (dockerd_stop's mount scan fails under pipefail when nothing is mounted: not an error.)
  dockerd_stop || true
  # Machine B: another daemon with an empty data root; between runs docker_reset empties it again.
  dockerd_start "$WORK/dockerd-b"
  dk load -i "$BASE_TAR" >/dev/null
  measure_b "docker BuildKit, inline cache" docker_reset '^#[0-9]+ CACHED$' \
    env DOCKER_BUILDKIT=1 "$DOCKER_CLI" -H "unix://$DOCKERD_SOCK" build --network=none --progress=plain \
      --cache-from "$REG/bk/app:1" -t bench-b "$CTX"
  dockerd_stop || true
}

command -v docker-registry >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
(cd "$REPO" && npm run --silent build)
busybox_archive "$REPO" "$WORK/busybox-helper" "$BASE_TAR" >/dev/null
CTX=$WORK/context
make_context "$CTX"
start_registry
{
  echo "| machine B (empty store) builds with --cache-from | B's build time, median of $N (s) |" \
    "bytes from registry | bytes to registry | steps cached |"
  echo "|---|---:|---:|---:|---:|"
} >"$REPORT"
for mode in $MODES; do run_tzbuild "$mode"; done
run_buildkit
cat "$REPORT"
mkdir -p "$BENCH/results"
cp "$REPORT" "$BENCH/results/cache-share-latest.md"
# What each tool's last B run asked the registry for.
awk '/^## / { keep = ($0 ~ /run '"$N"'$/) } keep' "$COUNTS.log" >"$BENCH/results/cache-share-requests.log"
