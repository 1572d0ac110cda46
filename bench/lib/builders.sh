# shellcheck shell=bash
# The three builders under test, behind one interface:
#   builder_reset TOOL          empty build cache, busybox:latest present (not timed)
#   builder_build TOOL NAME DIR LOG   one build of context DIR tagged bench-NAME, output to LOG
# Tool `ref` is tzbuild from another checkout (REF_REPO, its own store REF_STORE), for before/after.
# Needs: REPO, TZ_STORE (tzbuild store dir, a temp dir), BASE_TAR (busybox docker-archive) and,
# for the docker tools, dockerd.sh's `dk` with a running daemon.

# Prints a human name for the report.
builder_label() {
  case $1 in
    tzbuild) echo tzbuild ;;
    ref) echo "tzbuild (reference checkout)" ;;
    buildkit) echo "docker BuildKit" ;;
    legacy) echo "docker legacy" ;;
  esac
}

builder_reset() {
  case $1 in
    tzbuild) tzbuild_reset "$REPO" "$TZ_STORE" ;;
    ref) tzbuild_reset "$REF_REPO" "$REF_STORE" ;;
    buildkit | legacy) docker_reset ;;
  esac
}

# tzbuild's builds also leave their peak memory (max RSS, KB) in LOG.rss, from GNU time.
builder_build() {
  local tool=$1 name=$2 dir=$3 log=$4
  case $tool in
    tzbuild) max_rss "$log.rss" "$REPO/bin/tzbuild" --root "$TZ_STORE" -t "bench-$name:latest" "$dir" ;;
    ref) max_rss "$log.rss" "$REF_REPO/bin/tzbuild" --root "$REF_STORE" -t "bench-$name:latest" "$dir" ;;
    # No bridge exists in the private daemon: RUN steps get no network at all.
    buildkit) DOCKER_BUILDKIT=1 dk build --network=none --progress=plain -t "bench-$name:latest" "$dir" ;;
    legacy) DOCKER_BUILDKIT=0 dk build --network=none -t "bench-$name:latest" "$dir" ;;
  esac >"$log" 2>&1
}

# Runs a command, writing its max RSS in KB to FILE (nothing when GNU time is not installed).
max_rss() {
  local file=$1
  shift
  if [ -x /usr/bin/time ]; then /usr/bin/time -f %M -o "$file" "$@"; else "$@"; fi
}

# A brand-new store (STORE) with only the base image, loaded by the checkout at REPO_DIR:
# tzbuild's cache lives in its store.
tzbuild_reset() {
  local repo_dir=$1 store=$2
  unmount_under "$store"
  rm -rf "$store"
  mkdir -p "$store"
  "$repo_dir/bin/tzbuild" load --root "$store" "$BASE_TAR" >/dev/null
}

# Removes every bench image, the legacy builder's dangling intermediate images and all BuildKit
# cache; busybox:latest stays (it is re-loaded if something removed it).
docker_reset() {
  local images
  images=$(dk images --format '{{.Repository}}:{{.Tag}}' | grep '^bench-' || true)
  # shellcheck disable=SC2086 # one word per image
  [ -z "$images" ] || dk rmi -f $images >/dev/null
  dk image prune -f >/dev/null
  dk builder prune -af >/dev/null
  dk image inspect busybox:latest >/dev/null 2>&1 || dk load -i "$BASE_TAR" >/dev/null
}

# How many steps tzbuild ran (not cached) according to its "N cached, M run" summary line.
tzbuild_steps_run() {
  sed -n 's/^[0-9]* cached, \([0-9]*\) run.*/\1/p' "$1" | tail -n 1
}

# Unmounts anything still mounted below DIR (deepest first), so rm -rf cannot cross into it.
unmount_under() {
  local dir=$1 mnt
  [ -d "$dir" ] || return 0
  dir=$(realpath "$dir")
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done
}
