#!/usr/bin/env bash
# `npm run dev`: the bridge on this machine in one command.
#  - REDIS_URL / MONGODB_URI unset: starts a local redis-server (AOF on) and MongoDB-wire server (FerretDB,
#    built once from the Go module proxy, ~75 s the first time) in a throwaway directory, exactly as the tests do;
#  - META_APP_SECRET unset: sandbox mode (sandbox/dev.ts): Meta's Graph API and a Chatwoot are played by the
#    fakes the tests use, with an inbox page to watch a message go both ways. Set real credentials and it runs
#    the bridge alone.
# Ctrl-C stops everything it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=test/support/local-services.sh
source test/support/local-services.sh

local_services_init dev
if [ -z "${REDIS_URL:-}" ]; then
  echo "dev: starting a local redis-server…" >&2
  redis_ensure_installed
  redis_start "$workdir"
fi
if [ -z "${MONGODB_URI:-}" ]; then
  echo "dev: starting a local MongoDB-wire server (the first run builds FerretDB: about a minute)…" >&2
  mongo_wire_ensure >/dev/null
  mongo_wire_start "$workdir"
fi
export REDIS_URL MONGODB_URI
node --import tsx sandbox/dev.ts "$@" </dev/null &
child=$!
# Forward Ctrl-C / SIGTERM to the bridge so it drains, then clean up the servers.
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 130' INT
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
wait "$child"
