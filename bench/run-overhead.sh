#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Per-RUN overhead: a cold build of 30 trivial RUN steps on busybox, for each tzbuild runner and
# for docker's BuildKit on a private dockerd, in one run so all see the same machine load.
# Per-step overhead = (median time of the 30-RUN build − median time of a 1-RUN build) / 29, so
# start-up, base-image and export costs drop out. Writes bench/results/run-overhead.md.
#   bench/run-overhead.sh
# Environment: BENCH_N (runs per measurement, 5), BENCH_RUNNERS ("namespaces runc crun"),
# BENCH_STEPS (30), BENCH_TMPDIR (/tmp), DOCKER_HOST=unix://… to use a running daemon.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
# shellcheck source=lib/dockerd.sh
source "$BENCH/lib/dockerd.sh"
# shellcheck source=lib/busybox.sh
source "$BENCH/lib/busybox.sh"
# shellcheck source=lib/builders.sh
source "$BENCH/lib/builders.sh"

N=${BENCH_N:-5}
RUNNERS=${BENCH_RUNNERS:-namespaces runc crun}
STEPS=${BENCH_STEPS:-30}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tzrun.XXXXXX")
BASE_TAR=$WORK/busybox.tar
# shellcheck disable=SC2034 # read by lib/builders.sh
TZ_STORE=$WORK/tzbuild-store
RESULTS=$BENCH/results
RAW=$WORK/raw.tsv

log() { printf 'run-overhead: %s\n' "$*" >&2; }

cleanup() {
  dockerd_stop || true
  unmount_under "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }

# A context whose Dockerfile has $2 RUN steps; a build argument makes every build cold.
make_context() {
  local dir=$1 steps=$2 i
  mkdir -p "$dir"
  {
    echo 'FROM busybox:latest'
    echo 'ARG BUST'
    for ((i = 1; i <= steps; i++)); do echo "RUN echo $i > /f$i"; done
  } >"$dir/Dockerfile"
}

# Times one cold build; appends "tool steps seconds" to RAW.
measure() {
  local tool=$1 steps=$2 run=$3 dir=$WORK/ctx-$2 start secs bust
  bust="$tool-$run-$RANDOM$RANDOM"
  start=$(now_ns)
  case $tool in
    tzbuild-*)
      "$REPO/bin/tzbuild" --root "$TZ_STORE" --runner "${tool#tzbuild-}" --progress plain \
        --build-arg "BUST=$bust" "$dir"
      ;;
    buildkit) DOCKER_BUILDKIT=1 dk build --network=none --progress=plain --build-arg "BUST=$bust" "$dir" ;;
  esac >"$WORK/last.log" 2>&1 || { log "$tool failed:"; tail -n 20 "$WORK/last.log" >&2; exit 1; }
  secs=$(awk -v a="$start" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  printf '%s\t%s\t%s\n' "$tool" "$steps" "$secs" >>"$RAW"
}

main() {
  command -v dockerd >/dev/null || { log "dockerd not found (apt-get install -y docker.io)"; exit 1; }
  log "building the busybox base"
  busybox_archive "$REPO" "$WORK/busybox-helper" "$BASE_TAR"
  dockerd_start "$WORK/dockerd"
  dk load -i "$BASE_TAR" >/dev/null
  mkdir -p "$TZ_STORE"
  "$REPO/bin/tzbuild" load --root "$TZ_STORE" "$BASE_TAR" >/dev/null
  make_context "$WORK/ctx-1" 1
  make_context "$WORK/ctx-$STEPS" "$STEPS"
  local tools=(buildkit) runner run tool steps
  for runner in $RUNNERS; do tools+=("tzbuild-$runner"); done
  # One warm-up build each (page cache, runtime binaries), then rounds that interleave the tools.
  for tool in "${tools[@]}"; do measure "$tool" 1 warmup; done
  : >"$RAW"
  for ((run = 1; run <= N; run++)); do
    log "round $run/$N"
    for tool in "${tools[@]}"; do
      for steps in 1 "$STEPS"; do measure "$tool" "$steps" "$run"; done
    done
  done
  mkdir -p "$RESULTS"
  report >"$RESULTS/run-overhead.md"
  cat "$RESULTS/run-overhead.md"
}

# Medians per tool and the per-step overhead, as a markdown table.
report() {
  echo "Per-RUN overhead, $STEPS trivial RUN steps cold, median of $N; $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
  echo
  echo "| builder | 1 RUN (s) | $STEPS RUNs (s) | per step (ms) | vs BuildKit |"
  echo "|---|---|---|---|---|"
  awk -F'\t' -v steps="$STEPS" '
    function median(list,   n, arr, i, j, t) {
      n = split(list, arr, " ")
      for (i = 1; i <= n; i++)
        for (j = i + 1; j <= n; j++)
          if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
      return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
    }
    { times[$1, $2] = times[$1, $2] " " $3; if (!seen[$1]++) order[++count] = $1 }
    END {
      base = (median(times["buildkit", steps]) - median(times["buildkit", 1])) / (steps - 1)
      for (i = 1; i <= count; i++) {
        tool = order[i]; one = median(times[tool, 1]); many = median(times[tool, steps])
        per = (many - one) / (steps - 1)
        printf "| %s | %.2f | %.2f | %.0f | %.2f× |\n", tool, one, many, per * 1000, per / base
      }
    }' "$RAW"
}

main "$@"
