#!/usr/bin/env bash
# What the Ink TUI costs on a fully cached rebuild of 60 steps: the same no-op build N times with
# --progress=tty and N times with --progress=plain, both inside a pseudo-terminal (`script`), so
# the only difference is the progress sink. Prints the median wall time of each and the ratio
# (target: tty within 10% of plain).
#
#   bench/tui-overhead.sh [RUNS]      (default 15; needs `npm run build` first)
set -euo pipefail

runs=${1:-15}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tzbuild="$repo/bin/tzbuild"
[ -f "$repo/dist/tzbuild/start.js" ] || { echo "build first: npm run build" >&2; exit 2; }
command -v script >/dev/null || { echo "needs script(1) (bsdutils)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tzbuild-tui-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 60 steps on scratch (no base image needed): FROM, 6 COPYs, 53 metadata steps.
mkdir -p "$work/ctx"
{
  echo "FROM scratch"
  for i in $(seq 1 6); do
    echo "file $i" > "$work/ctx/f$i.txt"
    echo "COPY f$i.txt /data/"
  done
  for i in $(seq 1 53); do
    if ((i % 2)); then echo "ENV VAR_$i=value-$i"; else echo "LABEL bench.step$i=\"$i\""; fi
  done
} > "$work/ctx/Dockerfile"

build() { # MODE: one build inside a 120x40 pty; its output goes nowhere
  script -qefc "stty cols 120 rows 40; '$tzbuild' --root '$work/store' -t bench:1 --progress=$1 '$work/ctx'" \
    /dev/null </dev/null >/dev/null
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

build plain # the cold build fills the cache; every timed build is a no-op rebuild
build tty   # warm the page cache for Ink and React too

declare -A times=([tty]='' [plain]='')
for ((run = 1; run <= runs; run++)); do
  for mode in tty plain; do # interleaved, so a noisy neighbour hurts both alike
    start=$(date +%s%N)
    build "$mode"
    times[$mode]+="$(( ($(date +%s%N) - start) / 1000000 ))"$'\n'
  done
done

tty_ms=$(printf '%s' "${times[tty]}" | median)
plain_ms=$(printf '%s' "${times[plain]}" | median)
echo "60-step cached rebuild, $runs runs each, median wall time:"
echo "  --progress=plain  ${plain_ms} ms"
echo "  --progress=tty    ${tty_ms} ms"
awk -v t="$tty_ms" -v p="$plain_ms" 'BEGIN { printf "  ratio tty/plain  %.2f (%+.0f%%)\n", t / p, (t / p - 1) * 100 }'
