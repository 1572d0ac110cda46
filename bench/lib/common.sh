# shellcheck shell=bash
# Small helpers every benchmark script uses. Source this file.
#   now_ns                  the clock in nanoseconds
#   seconds_since START_NS  seconds since START_NS, three decimals
#   free_port               a port free a moment ago on 127.0.0.1
#   registry_start DIR      Debian's docker-registry on a free loopback port, storage under DIR;
#                           sets REGISTRY_PID and REGISTRY (127.0.0.1:PORT)
#   registry_stop           stops it

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
free_port() {
  node -e 'const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

REGISTRY_PID=
REGISTRY=

registry_start() {
  local dir=$1 port
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
YAML
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY=127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "docker-registry did not start:" >&2
  cat "$dir/log" >&2
  return 1
}

registry_stop() {
  [ -n "$REGISTRY_PID" ] || return 0
  kill "$REGISTRY_PID" 2>/dev/null || true
  wait "$REGISTRY_PID" 2>/dev/null || true
  REGISTRY_PID=
}
