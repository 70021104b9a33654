# shellcheck shell=bash
# Shared helpers for test/support/redis.sh and test/support/mongo-wire.sh. Source it; it does nothing alone.
# Everything it prints goes to stderr, so callers' stdout stays clean.

SUPPORT_ROOT="${SUPPORT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

svc_log() { echo "[test-infra] $*" >&2; }

# apt-get install PACKAGE..., running `apt-get update` once (per process) only when a package cannot be
# found or installed from the current lists.
_SVC_APT_UPDATED=0
svc_apt_install() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends)
  if [ "$_SVC_APT_UPDATED" = 0 ]; then
    local pkg missing=0
    for pkg in "$@"; do
      apt-cache show "$pkg" >/dev/null 2>&1 || missing=1
    done
    if [ "$missing" = 0 ] && "${apt[@]}" install "$@" </dev/null >&2; then
      return 0
    fi
    svc_log "apt-get update (package lists missing or stale)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update </dev/null >&2
    _SVC_APT_UPDATED=1
  fi
  "${apt[@]}" install "$@" </dev/null >&2
}

# A TCP port that was free on 127.0.0.1 a moment ago (callers retry if it is taken before they bind).
svc_free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

# svc_wait_ready_line LOGFILE PID TIMEOUT_S: waits for a line `READY <uri>` in LOGFILE and prints <uri>.
# Fails if PID exits first or the time runs out.
svc_wait_ready_line() {
  local file="$1" pid="$2" timeout="$3" deadline uri
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    uri="$(awk '$1 == "READY" { print $2; exit }' "$file" 2>/dev/null || true)"
    if [ -n "$uri" ]; then
      printf '%s' "$uri"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# svc_wait_tcp PORT PID TIMEOUT_S: waits until 127.0.0.1:PORT accepts connections.
svc_wait_tcp() {
  local port="$1" pid="$2" timeout="$3" deadline
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# svc_stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL. Only for processes this shell started.
svc_stop_pid() {
  local pid="$1" name="$2"
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    svc_log "$name (pid $pid) did not stop on SIGTERM within 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# svc_group_members PGID: pids (one per line) still in process group PGID.
svc_group_members() {
  ps -eo pid=,pgid= | awk -v g="$1" '$2 == g { print $1 }'
}

# svc_stop_group PGID NAME: SIGTERM to the whole process group, wait up to 15 s, then SIGKILL. For a group
# this shell created (setsid), so test code's stray children (a redis-server a test forgot) go too.
svc_stop_group() {
  local pgid="$1" name="$2" left
  [ -n "$pgid" ] || return 0
  left="$(svc_group_members "$pgid")"
  if [ -n "$left" ]; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      [ -n "$(svc_group_members "$pgid")" ] || break
      sleep 0.1
    done
    if [ -n "$(svc_group_members "$pgid")" ]; then
      svc_log "$name: processes still running after SIGTERM; sending SIGKILL"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  fi
  wait "$pgid" 2>/dev/null || true
}

# svc_watchdog PID [group]: a background guard that kills PID (or, with `group`, its whole process group)
# when this shell ($$) dies without running its EXIT trap (e.g. SIGKILL), so nothing outlives the test run.
# Its pid goes into SVC_WATCHDOG_PIDS.
SVC_WATCHDOG_PIDS=()
svc_watchdog() {
  local target="$1" mode="${2:-pid}" owner="$$"
  (
    trap '' INT HUP
    while kill -0 "$owner" 2>/dev/null && kill -0 "$target" 2>/dev/null; do sleep 1; done
    if [ "$mode" = group ]; then
      kill -0 "$owner" 2>/dev/null || kill -TERM -- "-$target" 2>/dev/null || true
    else
      kill -TERM "$target" 2>/dev/null || true
    fi
  ) </dev/null >/dev/null 2>&1 &
  SVC_WATCHDOG_PIDS+=("$!")
}

# svc_guard_dir DIR: a background guard that removes DIR a few seconds after this shell ($$) died without
# running its EXIT trap (the servers' watchdogs have stopped them by then).
svc_guard_dir() {
  local dir="$1" owner="$$"
  (
    trap '' INT HUP
    while kill -0 "$owner" 2>/dev/null; do sleep 1; done
    sleep 3
    rm -rf "$dir"
  ) </dev/null >/dev/null 2>&1 &
  SVC_WATCHDOG_PIDS+=("$!")
}

svc_stop_watchdogs() {
  local p
  for p in "${SVC_WATCHDOG_PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  SVC_WATCHDOG_PIDS=()
}
