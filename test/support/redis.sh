#!/usr/bin/env bash
# A real redis-server for the tests, on 127.0.0.1 and a free port, with AOF on (appendfsync everysec, no RDB
# snapshots), in a directory of its own.
#
# As a command (idempotent):
#   bash test/support/redis.sh ensure     install redis-server with apt-get when it is missing
# As a library (source it; test/run-tests.sh does):
#   redis_ensure_installed
#   redis_start WORKDIR        sets REDIS_URL, REDIS_PID, REDIS_DIR, REDIS_LOG; starts a watchdog
#   redis_stop                 stops what redis_start started (safe to call twice)
# Start functions must run in the main shell (not in $(...)), so the server stays this shell's child.

# shellcheck source=test/support/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REDIS_URL="${REDIS_URL:-}"
REDIS_PID=""
REDIS_DIR=""
REDIS_LOG=""

redis_ensure_installed() {
  if command -v redis-server >/dev/null 2>&1; then
    return 0
  fi
  svc_log "redis-server not found; installing Debian's redis-server with apt-get"
  svc_apt_install redis-server || { svc_log "could not install redis-server with apt-get"; return 1; }
  command -v redis-server >/dev/null 2>&1 || { svc_log "redis-server still not on PATH after apt-get"; return 1; }
  # Debian's package starts a system redis on 6379 where systemd/init runs; the tests never use it.
}

_redis_ping() {
  # In a subshell: a failed `exec` redirection must not end the caller.
  (
    exec 7<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'PING\r\n' >&7
    reply=""
    IFS= read -r -t 2 reply <&7 || true
    [ "${reply%$'\r'}" = "+PONG" ]
  ) 2>/dev/null
}

redis_start() {
  local workdir="$1" attempt port
  redis_ensure_installed || return 1
  REDIS_DIR="$workdir/redis"
  mkdir -p "$REDIS_DIR"
  REDIS_LOG="$REDIS_DIR/redis.log"
  for attempt in 1 2 3 4 5; do
    port="$(svc_free_port)"
    redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
      --save '' --appendonly yes --appendfsync everysec --dir "$REDIS_DIR" \
      --daemonize no --logfile "$REDIS_LOG" </dev/null >/dev/null 2>&1 &
    REDIS_PID=$!
    local deadline=$(( $(date +%s) + 20 ))
    while kill -0 "$REDIS_PID" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
      if _redis_ping "$port"; then
        REDIS_URL="redis://127.0.0.1:$port"
        svc_watchdog "$REDIS_PID"
        svc_log "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on $REDIS_URL (AOF everysec, dir $REDIS_DIR)"
        return 0
      fi
      sleep 0.1
    done
    svc_log "redis-server did not come up on port $port (attempt $attempt); log tail:"
    tail -n 5 "$REDIS_LOG" >&2 2>/dev/null || true
    svc_stop_pid "$REDIS_PID" redis-server
    REDIS_PID=""
  done
  svc_log "giving up on redis-server"
  return 1
}

redis_stop() {
  if [ -n "$REDIS_PID" ]; then
    svc_stop_pid "$REDIS_PID" redis-server
    REDIS_PID=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    ensure) redis_ensure_installed ;;
    *) echo "usage: bash $0 ensure   (or source it and call redis_start WORKDIR / redis_stop)" >&2; exit 2 ;;
  esac
fi
