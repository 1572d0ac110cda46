#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The tzbuild benchmark: tzbuild against docker's BuildKit and legacy builders on six generated
# contexts, cold / no-op / one-file-changed, median of N interleaved runs, with tzbuild's peak
# memory (max RSS). Writes bench/results/latest.md (and the raw timings next to it) and prints the
# table. The real-world shapes (npm, apt-get) are bench/realworld.sh. Run as root on Debian 12
# with docker.io:
#   bench/run.sh
# Environment: BENCH_N (runs per measurement, 3), BENCH_TOOLS ("tzbuild buildkit legacy"),
# BENCH_CONTEXTS ("small many big bigrun multistage deletions"), BENCH_SMALL_FILES (20000),
# BENCH_BIG_MB (300), BENCH_TMPDIR (/tmp), DOCKER_HOST=unix://… to use a running daemon,
# BENCH_REF=DIR (another tzbuild checkout, built: measured as tool `ref` beside this one).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
# shellcheck source=lib/common.sh
source "$BENCH/lib/common.sh"
# shellcheck source=lib/dockerd.sh
source "$BENCH/lib/dockerd.sh"
# shellcheck source=lib/busybox.sh
source "$BENCH/lib/busybox.sh"
# shellcheck source=lib/contexts.sh
source "$BENCH/lib/contexts.sh"
# shellcheck source=lib/builders.sh
source "$BENCH/lib/builders.sh"

N=${BENCH_N:-3}
TOOLS=${BENCH_TOOLS:-tzbuild buildkit legacy}
REF_REPO=${BENCH_REF:+$(cd "$BENCH_REF" && pwd)}
[ -z "$REF_REPO" ] || [[ " $TOOLS " == *" ref "* ]] || TOOLS="ref $TOOLS"
CONTEXTS=${BENCH_CONTEXTS:-$CONTEXTS_ALL}
RESULTS=$BENCH/results
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tzbench.XXXXXX")
# shellcheck disable=SC2034 # read by lib/builders.sh
TZ_STORE=$WORK/tzbuild-store
# shellcheck disable=SC2034 # read by lib/builders.sh
REF_STORE=$WORK/ref-store
BASE_TAR=$WORK/busybox.tar
RAW=$WORK/raw.tsv
META=$WORK/meta.tsv

log() { printf 'bench: %s\n' "$*" >&2; }

cleanup() {
  dockerd_stop || true
  unmount_under "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# Needs room for the big context, its copies in each builder's store and docker's data root.
check_disk() {
  local need_mb=$((BENCH_BIG_MB * 12 + 2048)) avail_mb
  avail_mb=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
  log "free space under $WORK: ${avail_mb} MB (need ~${need_mb} MB)"
  ((avail_mb >= need_mb)) || { log "not enough disk space"; exit 1; }
}

wants_docker() { [[ " $TOOLS " == *" buildkit "* || " $TOOLS " == *" legacy "* ]]; }

# Times one build; appends "tool context phase run seconds steps_run max_rss_kb" to RAW.
measure() {
  local tool=$1 ctx=$2 phase=$3 run=$4 start secs steps='' rss=''
  local buildlog=$WORK/logs/$tool-$ctx-$phase-$run.log
  start=$(now_ns)
  if ! builder_build "$tool" "$ctx" "$WORK/ctx/$ctx" "$buildlog"; then
    log "$tool build of $ctx ($phase) failed; last lines of its output:"
    tail -n 25 "$buildlog" >&2
    exit 1
  fi
  secs=$(seconds_since "$start")
  if [ "$tool" = tzbuild ] || [ "$tool" = ref ]; then
    steps=$(tzbuild_steps_run "$buildlog")
    rss=$(tail -n 1 "$buildlog.rss" 2>/dev/null || true)
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$ctx" "$phase" "$run" "$secs" "$steps" "$rss" >>"$RAW"
  log "$(printf '%-10s %-9s %-7s %d/%d %8.3f s%s%s' "$ctx" "$tool" "$phase" "$run" "$N" "$secs" \
    "${steps:+  ($steps steps run)}" "${rss:+  max RSS $((rss / 1024)) MB}")"
}

# Cold (empty cache) N times, then no-op N times, then one-file-changed N times, the TOOLS
# taking turns within each round, so that a burst of load on a shared machine falls on all of
# them alike. Each tool has its own store or daemon; only BuildKit and legacy share one, so they
# cannot take turns (one's reset empties the other's cache): legacy runs apart, afterwards.
bench_context() {
  local ctx=$1 i tool tools=()
  for tool in $TOOLS; do [ "$tool" = legacy ] || tools+=("$tool"); done
  for i in $(seq 1 "$N"); do
    for tool in "${tools[@]}"; do
      builder_reset "$tool"
      measure "$tool" "$ctx" cold "$i"
    done
  done
  for i in $(seq 1 "$N"); do for tool in "${tools[@]}"; do measure "$tool" "$ctx" noop "$i"; done; done
  for i in $(seq 1 "$N"); do
    for tool in "${tools[@]}"; do
      # A never-seen content, so no builder can find the new file in its cache.
      change_one_file "$ctx" "$WORK/ctx/$ctx" "$tool-$i-$(now_ns)"
      measure "$tool" "$ctx" onefile "$i"
    done
  done
  [[ " $TOOLS " != *" legacy "* ]] || bench_tool legacy "$ctx"
}

# One tool alone: cold N times, then no-op N times, then one-file-changed N times.
bench_tool() {
  local tool=$1 ctx=$2 i
  for i in $(seq 1 "$N"); do
    builder_reset "$tool"
    measure "$tool" "$ctx" cold "$i"
  done
  for i in $(seq 1 "$N"); do measure "$tool" "$ctx" noop "$i"; done
  for i in $(seq 1 "$N"); do
    change_one_file "$ctx" "$WORK/ctx/$ctx" "$tool-$i-$(now_ns)"
    measure "$tool" "$ctx" onefile "$i"
  done
}

# The floor for COPY of a context: read every byte once and hash it.
bench_reference() {
  local ctx=$1 i start
  for i in $(seq 1 "$N"); do
    start=$(now_ns)
    tar -C "$WORK/ctx/$ctx" -cf - . | sha256sum >/dev/null
    printf 'reference\t%s\tcold\t%s\t%s\t\n' "$ctx" "$i" "$(seconds_since "$start")" >>"$RAW"
  done
  log "$ctx: tar c | sha256sum measured"
}

# tsc emits even when it reports type errors; others may be mid-edit in a shared checkout, so
# errors only warn (the report records what was measured) unless nothing runnable came out.
compile_tzbuild() {
  log "compiling tzbuild"
  if ! (cd "$REPO" && npm run --silent build >&2); then
    [ -f "$REPO/dist/tzbuild/start.cjs" ] || { log "the build failed and dist/tzbuild/start.cjs is missing"; exit 1; }
    log "warning: tsc reported type errors; benchmarking the JavaScript it emitted"
    TSC_WARNING="tsc reported type errors at the time of this run"
  fi
}

write_meta() {
  {
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'cpus\t%s\n' "$(nproc)"
    printf 'cpu\t%s\n' "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
    printf 'memory\t%s GiB\n' "$(free -g | awk '/^Mem:/ { print $2 }')"
    printf 'kernel\t%s\n' "$(uname -sr)"
    printf 'filesystem\t%s\n' "$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')"
    printf 'node\t%s\n' "$(node --version)"
    printf 'docker\t%s\n' "$(wants_docker && dk version --format '{{.Server.Version}}' || echo 'not run')"
    local dirty
    dirty=$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')
    printf 'commit\t%s\n' "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
    [ -z "$REF_REPO" ] || printf 'ref\t%s\n' "$(git -C "$REF_REPO" rev-parse --short HEAD 2>/dev/null ||
      echo "$REF_REPO")"
    printf 'runs\t%s\n' "$N"
    printf 'load\t%s at start, %s at end\n' "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'warning\t%s\n' "${TSC_WARNING:-}"
    printf 'tools\t%s\n' "$TOOLS"
    local ctx
    for ctx in $CONTEXTS; do printf 'context:%s\t%s\n' "$ctx" "$(context_description "$ctx")"; done
  } >"$META"
}

main() {
  mkdir -p "$WORK/logs" "$WORK/ctx" "$RESULTS"
  : >"$RAW"
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  check_disk
  compile_tzbuild
  if [ -n "$REF_REPO" ] && [ ! -f "$REF_REPO/dist/tzbuild/start.cjs" ]; then
    log "BENCH_REF=$REF_REPO is not built (npm ci there first)"; exit 1
  fi
  log "making the busybox base image"
  busybox_archive "$REPO" "$WORK/helper" "$BASE_TAR"
  if wants_docker; then
    log "starting a private dockerd"
    dockerd_start "$WORK/dockerd"
    dk load -i "$BASE_TAR" >/dev/null
  fi
  local ctx tool
  for ctx in $CONTEXTS; do
    log "generating context $ctx"
    make_context "$ctx" "$WORK/ctx/$ctx"
    [ "$ctx" = big ] && bench_reference big
    bench_context "$ctx"
  done
  write_meta
  cp "$RAW" "$RESULTS/latest-raw.tsv"
  node "$BENCH/lib/report.mjs" "$RAW" "$META" >"$RESULTS/latest.md"
  cat "$RESULTS/latest.md"
}

main "$@"
