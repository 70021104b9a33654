#!/usr/bin/env bash
# A real MongoDB-wire server for the tests, on 127.0.0.1. The backend is chosen in this order:
#   1. external           $MONGODB_URI is set: used as is, nothing is started
#   2. mongodb            a `mongod` on PATH
#   3. ferretdb           FerretDB v1.24.2 (SQLite backend) embedded in tools/ferretdb-launcher, built with
#                         `go build` into .cache/bin (rebuilt only when its sources are newer)
#   4. mongo-java-server  only if the FerretDB build fails: mongo-java-server 1.47.0 from Maven Central
#                         (tools/mongo-java-server-launcher, reports wire 9)
# TEST_MONGO_BACKEND=mongodb|ferretdb|mongo-java-server forces one (no fallback); default auto.
# What each backend lacks for this project: test/support/README.md.
#
# As a command (idempotent):
#   bash test/support/mongo-wire.sh ensure    install/build what the chosen backend needs; prints its name
# As a library (source it; test/run-tests.sh does):
#   mongo_wire_ensure          sets MONGO_BACKEND (mongodb|ferretdb|mongo-java-server|external)
#   mongo_wire_start WORKDIR   sets MONGODB_URI, MONGO_BACKEND, MONGO_PID, MONGO_LOG; starts a watchdog
#   mongo_wire_stop            stops what mongo_wire_start started (safe to call twice)
# Start functions must run in the main shell (not in $(...)), so the server stays this shell's child.

# shellcheck source=test/support/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FERRETDB_SRC="$SUPPORT_ROOT/tools/ferretdb-launcher"
FERRETDB_BIN="${FERRETDB_BIN:-$SUPPORT_ROOT/.cache/bin/ferretdb-launcher}"
MJS_SRC="$SUPPORT_ROOT/tools/mongo-java-server-launcher"
MJS_CACHE="$SUPPORT_ROOT/.cache/mongo-java-server"

MONGO_BACKEND="${MONGO_BACKEND:-}"
MONGO_PID=""
MONGO_LOG=""

_mongo_up_to_date() { # TARGET SOURCE...: TARGET exists and is newer than every SOURCE
  local target="$1" src
  shift
  [ -e "$target" ] || return 1
  for src in "$@"; do
    [ "$target" -nt "$src" ] || return 1
  done
}

ferretdb_ensure_built() {
  local srcs=("$FERRETDB_SRC/go.mod" "$FERRETDB_SRC/go.sum" "$FERRETDB_SRC/main.go")
  if [ -x "$FERRETDB_BIN" ] && _mongo_up_to_date "$FERRETDB_BIN" "${srcs[@]}"; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || { svc_log "go not found on PATH; cannot build the FerretDB launcher"; return 1; }
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (
    # One build at a time; a second caller waits, then finds the binary fresh.
    exec 8>"$FERRETDB_BIN.lock"
    flock 8
    if [ -x "$FERRETDB_BIN" ] && _mongo_up_to_date "$FERRETDB_BIN" "${srcs[@]}"; then exit 0; fi
    svc_log "building the FerretDB launcher with $(go version | awk '{print $3}') (first time: downloads modules from the Go module proxy and compiles, a few minutes)"
    local started=$SECONDS tmp="$FERRETDB_BIN.tmp.$$"
    cd "$FERRETDB_SRC"
    # GOTOOLCHAIN=local: never download a Go toolchain. -mod=readonly: go.mod/go.sum are the truth; a build
    # that would need to change them fails instead. CGO_ENABLED=0: FerretDB's SQLite driver is pure Go.
    if ! GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
        go build -trimpath -ldflags="-s -w" -o "$tmp" . >&2; then
      rm -f "$tmp"
      exit 1
    fi
    mv -f "$tmp" "$FERRETDB_BIN"
    svc_log "built $FERRETDB_BIN in $(( SECONDS - started )) s"
  )
}

mjs_ensure_built() {
  local cp="$MJS_CACHE/classpath.txt" cls="$MJS_CACHE/classes/RunMjs.class"
  if _mongo_up_to_date "$cp" "$MJS_SRC/pom.xml" && _mongo_up_to_date "$cls" "$MJS_SRC/RunMjs.java" "$cp"; then
    return 0
  fi
  command -v java >/dev/null 2>&1 || { svc_log "java not found; cannot run mongo-java-server"; return 1; }
  command -v mvn >/dev/null 2>&1 || { svc_log "mvn not found; cannot fetch mongo-java-server"; return 1; }
  mkdir -p "$MJS_CACHE"
  (
    exec 8>"$MJS_CACHE/.lock"
    flock 8
    if ! _mongo_up_to_date "$cp" "$MJS_SRC/pom.xml"; then
      svc_log "resolving mongo-java-server 1.47.0 from Maven Central"
      mvn -q -B -Dstyle.color=never -f "$MJS_SRC/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp.tmp" </dev/null >&2 || exit 1
      mv -f "$cp.tmp" "$cp"
    fi
    if ! _mongo_up_to_date "$cls" "$MJS_SRC/RunMjs.java" "$cp"; then
      rm -rf "$MJS_CACHE/classes"
      javac -d "$MJS_CACHE/classes" -cp "$(cat "$cp")" "$MJS_SRC/RunMjs.java" >&2 || exit 1
    fi
  )
}

# Chooses the backend and makes sure it can start. Sets MONGO_BACKEND.
mongo_wire_ensure() {
  local want="${TEST_MONGO_BACKEND:-auto}"
  if [ -n "${MONGODB_URI:-}" ]; then
    MONGO_BACKEND=external
    return 0
  fi
  case "$want" in
    auto)
      if command -v mongod >/dev/null 2>&1; then
        MONGO_BACKEND=mongodb
      elif ferretdb_ensure_built; then
        MONGO_BACKEND=ferretdb
      else
        svc_log "the FerretDB launcher could not be built; falling back to mongo-java-server"
        mjs_ensure_built || { svc_log "no MongoDB-wire server could be prepared"; return 1; }
        MONGO_BACKEND=mongo-java-server
      fi ;;
    mongodb)
      command -v mongod >/dev/null 2>&1 || { svc_log "TEST_MONGO_BACKEND=mongodb but no mongod on PATH"; return 1; }
      MONGO_BACKEND=mongodb ;;
    ferretdb) ferretdb_ensure_built || return 1; MONGO_BACKEND=ferretdb ;;
    mongo-java-server) mjs_ensure_built || return 1; MONGO_BACKEND=mongo-java-server ;;
    *) svc_log "TEST_MONGO_BACKEND must be auto, mongodb, ferretdb or mongo-java-server, not '$want'"; return 1 ;;
  esac
}

mongo_wire_start() {
  local workdir="$1" dir uri="" port attempt
  mongo_wire_ensure || return 1
  if [ "$MONGO_BACKEND" = external ]; then
    svc_log "MongoDB-wire backend: external (MONGODB_URI from the environment; nothing started)"
    return 0
  fi
  dir="$workdir/mongo"
  mkdir -p "$dir/data"
  MONGO_LOG="$dir/server.log"
  for attempt in 1 2 3; do
    case "$MONGO_BACKEND" in
      mongodb)
        port="$(svc_free_port)"
        mongod --bind_ip 127.0.0.1 --port "$port" --dbpath "$dir/data" --nounixsocket \
          --logpath "$MONGO_LOG" </dev/null >/dev/null 2>&1 &
        MONGO_PID=$!
        if svc_wait_tcp "$port" "$MONGO_PID" 60; then uri="mongodb://127.0.0.1:$port/"; fi ;;
      ferretdb)
        # Port 0: the launcher binds a free port itself and reports it, so there is no race.
        "$FERRETDB_BIN" -listen 127.0.0.1:0 -dir "$dir/data/" -log-level error -watch-pid "$$" \
          </dev/null >"$MONGO_LOG" 2>&1 &
        MONGO_PID=$!
        uri="$(svc_wait_ready_line "$MONGO_LOG" "$MONGO_PID" 30 || true)" ;;
      mongo-java-server)
        WATCH_PID="$$" java -cp "$MJS_CACHE/classes:$(cat "$MJS_CACHE/classpath.txt")" RunMjs 0 \
          </dev/null >"$MONGO_LOG" 2>&1 &
        MONGO_PID=$!
        uri="$(svc_wait_ready_line "$MONGO_LOG" "$MONGO_PID" 60 || true)" ;;
    esac
    if [ -n "$uri" ]; then
      MONGODB_URI="$uri"
      svc_watchdog "$MONGO_PID"
      svc_log "MongoDB-wire backend: $MONGO_BACKEND on $MONGODB_URI (log $MONGO_LOG)"
      return 0
    fi
    svc_log "$MONGO_BACKEND did not come up (attempt $attempt); log tail:"
    tail -n 10 "$MONGO_LOG" >&2 2>/dev/null || true
    svc_stop_pid "$MONGO_PID" "$MONGO_BACKEND"
    MONGO_PID=""
  done
  svc_log "giving up on $MONGO_BACKEND"
  return 1
}

mongo_wire_stop() {
  if [ -n "$MONGO_PID" ]; then
    svc_stop_pid "$MONGO_PID" "$MONGO_BACKEND"
    MONGO_PID=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    ensure) mongo_wire_ensure; echo "$MONGO_BACKEND" ;;
    *) echo "usage: bash $0 ensure   (or source it and call mongo_wire_start WORKDIR / mongo_wire_stop)" >&2; exit 2 ;;
  esac
fi
