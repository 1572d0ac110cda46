# shellcheck shell=bash
# A private dockerd for the benchmark: its own data root and unix socket, no bridge, no iptables,
# so it never touches the host's network or an existing docker. Source this file, then:
#   dockerd_start DIR    starts dockerd with data under DIR (or reuses $DOCKER_HOST if it answers)
#   dockerd_stop         stops only what dockerd_start started, and removes its data root
# After dockerd_start, `dk ARGS…` runs the docker CLI against that daemon. DOCKERD_ARGS (an array,
# empty by default) holds extra dockerd flags (`--registry-mirror URL` …).

# The Debian docker.io client (20.10, same version as its dockerd).
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
DOCKERD_PID=
DOCKERD_DIR=
DOCKERD_SOCK=
DOCKERD_ARGS=()

dk() { "$DOCKER_CLI" -H "unix://$DOCKERD_SOCK" "$@"; }

# Waits up to $2 seconds for the daemon on socket $1 to answer `docker version`.
dockerd_wait() {
  local sock=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    "$DOCKER_CLI" -H "unix://$sock" version >/dev/null 2>&1 && return 0
    if [ -n "$DOCKERD_PID" ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then return 1; fi
    sleep 0.3
  done
  return 1
}

dockerd_start() {
  local dir=$1
  # A daemon the caller points us at (DOCKER_HOST=unix://…) is used as is and left running.
  if [ -n "${DOCKER_HOST:-}" ] && [[ $DOCKER_HOST == unix://* ]] && dockerd_wait "${DOCKER_HOST#unix://}" 2; then
    DOCKERD_SOCK=${DOCKER_HOST#unix://}
    return 0
  fi
  command -v dockerd >/dev/null || { echo "dockerd not found (apt-get install -y docker.io)" >&2; return 1; }
  DOCKERD_DIR=$dir
  DOCKERD_SOCK=$dir/docker.sock
  mkdir -p "$dir/data" "$dir/exec"
  # containerd gets its own state dirs under $dir (dockerd starts a private one when none is given).
  dockerd --iptables=false --ip-masq=false --bridge=none --ip-forward=false \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    --host "unix://$DOCKERD_SOCK" "${DOCKERD_ARGS[@]}" >"$dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  if ! dockerd_wait "$DOCKERD_SOCK" 60; then
    echo "dockerd did not start; last lines of $dir/dockerd.log:" >&2
    tail -n 20 "$dir/dockerd.log" >&2
    dockerd_stop
    return 1
  fi
}

dockerd_stop() {
  [ -n "$DOCKERD_PID" ] || return 0
  if kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$DOCKERD_PID"
    local deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)) && kill -0 "$DOCKERD_PID" 2>/dev/null; do sleep 0.2; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
  fi
  wait "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=
  if [ -n "$DOCKERD_DIR" ]; then
    # dockerd can leave overlay mounts behind when killed: unmount before deleting.
    grep -o " $DOCKERD_DIR/[^ ]*" /proc/mounts | sort -r | while read -r mnt; do
      umount -l "$mnt" 2>/dev/null || true
    done
    rm -rf "$DOCKERD_DIR"
    DOCKERD_DIR=
  fi
}
