#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A two-platform build (--platform linux/HOST,linux/FOREIGN) of one small Dockerfile against
# building each platform on its own (two single-platform builds, each in a fresh store: nothing
# shared), cold and no-op; and how many of the second platform's steps the two-platform build
# shares. The Dockerfile cross-compiles the usual way: a $BUILDPLATFORM stage per target (reads
# TARGETARCH), a $BUILDPLATFORM tools stage (shared), a target stage with one RUN (emulated for
# the foreign platform through qemu-user-static).
#   bench/platforms.sh        (root, Debian 12, qemu-user-static; ~3 min)
# Environment: BENCH_N (rounds, 5), BENCH_TMPDIR (/tmp). The runs are interleaved (two-platform,
# then separate, per round) and each round's ratio is reported: other builds on the machine make
# absolute times noisy, the ratio of neighbouring runs less so.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
# shellcheck source=lib/common.sh
source "$BENCH/lib/common.sh"
# shellcheck source=lib/builders.sh
source "$BENCH/lib/builders.sh"

N=${BENCH_N:-5}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tzplat.XXXXXX")
TZ=$REPO/bin/tzbuild
log() { printf 'platforms: %s\n' "$*" >&2; }

cleanup() {
  unmount_under "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case "$(uname -m)" in
  x86_64) HOST=amd64 FOREIGN=arm64 ;;
  aarch64) HOST=arm64 FOREIGN=amd64 ;;
  *) log "unsupported host $(uname -m)"; exit 1 ;;
esac

# The bases, busybox:HOST and busybox:FOREIGN, from Debian's busybox-static packages via the test
# helper (test/helpers/foreign-bases.ts, which also registers qemu's handler), compiled on the fly
# as bench/lib/busybox.sh does.
make_bases() {
  local scratch=$WORK/helper
  mkdir -p "$scratch" "$REPO/.tzbuild-test"
  (cd "$REPO" && npx --no-install tsc --noCheck --outDir "$scratch" --rootDir . \
    --module NodeNext --moduleResolution NodeNext --target ES2022 --skipLibCheck --types node \
    test/helpers/foreign-bases.ts)
  ln -sfn "$REPO/node_modules" "$scratch/node_modules"
  ln -sfn "$REPO/.tzbuild-test" "$scratch/.tzbuild-test"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node --input-type=module -e '
    const [helper, dir, host, foreign] = process.argv.slice(1);
    const { busyboxArchiveFor, ensureEmulator } = await import(helper);
    await ensureEmulator(foreign);
    for (const arch of [host, foreign]) await busyboxArchiveFor(arch, `${dir}/busybox-${arch}.tar`, `busybox:${arch}`);
  ' "$scratch/test/helpers/foreign-bases.js" "$WORK" "$HOST" "$FOREIGN"
}

make_context() {
  local dir=$1
  mkdir -p "$dir/src"
  for i in $(seq 1 50); do printf 'int f%d(void) { return %d; }\n' "$i" "$i" >"$dir/src/f$i.c"; done
  cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM --platform=$BUILDPLATFORM busybox:${BUILDARCH} AS build
ARG TARGETARCH
COPY src/ /src/
RUN cat /src/*.c | sha256sum > /sum && echo "$TARGETARCH" > /arch
FROM --platform=$BUILDPLATFORM busybox:${BUILDARCH} AS tools
COPY src/ /src/
RUN i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; ls /src | wc -l > /count
FROM busybox:${TARGETARCH}
COPY --from=build /sum /arch /out/
COPY --from=tools /count /out/
RUN ls -l /out > /listing
DOCKERFILE
}

fresh_store() {
  local store=$1
  unmount_under "$store"
  rm -rf "$store"
  mkdir -p "$store"
  "$TZ" load --root "$store" "$WORK/busybox-$HOST.tar" >/dev/null
  "$TZ" load --root "$store" "$WORK/busybox-$FOREIGN.tar" >/dev/null
}

# build STORE PLATFORMS LOG: prints the seconds it took.
timed_build() {
  local store=$1 platforms=$2 out=$3 start
  start=$(now_ns)
  "$TZ" build --root "$store" --progress plain --platform "$platforms" -t bench-plat:1 "$WORK/ctx" >"$out" 2>&1
  seconds_since "$start"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

log "building tzbuild"
(cd "$REPO" && npm run --silent build >/dev/null)
log "making the bases"
make_bases
make_context "$WORK/ctx"
BOTH="linux/$HOST,linux/$FOREIGN"
RAW=$WORK/raw.tsv
: >"$RAW"
for round in $(seq 1 "$N"); do
  log "round $round/$N"
  fresh_store "$WORK/multi"
  multi_cold=$(timed_build "$WORK/multi" "$BOTH" "$WORK/multi-cold.log")
  multi_cold_run=$(tzbuild_steps_run "$WORK/multi-cold.log")
  fresh_store "$WORK/a"
  fresh_store "$WORK/b"
  host_cold=$(timed_build "$WORK/a" "linux/$HOST" "$WORK/host-cold.log")
  foreign_cold=$(timed_build "$WORK/b" "linux/$FOREIGN" "$WORK/foreign-cold.log")
  separate_run=$(($(tzbuild_steps_run "$WORK/host-cold.log") + $(tzbuild_steps_run "$WORK/foreign-cold.log")))
  multi_noop=$(timed_build "$WORK/multi" "$BOTH" "$WORK/multi-noop.log")
  host_noop=$(timed_build "$WORK/a" "linux/$HOST" "$WORK/host-noop.log")
  foreign_noop=$(timed_build "$WORK/b" "linux/$FOREIGN" "$WORK/foreign-noop.log")
  separate_cold=$(awk -v a="$host_cold" -v b="$foreign_cold" 'BEGIN { printf "%.3f", a + b }')
  separate_noop=$(awk -v a="$host_noop" -v b="$foreign_noop" 'BEGIN { printf "%.3f", a + b }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$multi_cold" "$host_cold" "$foreign_cold" \
    "$separate_cold" "$multi_noop" "$separate_noop" "$multi_cold_run" "$separate_run" >>"$RAW"
done

col() { cut -f"$1" "$RAW" | median; }
cold_ratios=$(awk -F'\t' '{ printf "%.2f ", $2 / $5 }' "$RAW")
noop_ratios=$(awk -F'\t' '{ printf "%.2f ", $6 / $7 }' "$RAW")
single_ratios=$(awk -F'\t' '{ printf "%.2f ", $2 / $4 }' "$RAW")
echo
echo "| $N interleaved rounds, medians (s)    | two-platform build | each platform alone (sum) | ratio per round |"
echo "| -------------------------------------- | ------------------ | ------------------------- | --------------- |"
echo "| cold                                   | $(col 2) | $(col 5) ($(col 3) + $(col 4)) | $cold_ratios |"
echo "| no-op                                  | $(col 6) | $(col 7) | $noop_ratios |"
echo "| steps run, cold                        | $(col 8) | $(col 9) | |"
echo
echo "two-platform cold / foreign platform alone, per round: $single_ratios"
echo "raw (round, multi cold, host cold, foreign cold, separate cold, multi noop, separate noop,"
echo "     multi run, separate run):"
cat "$RAW"
