#!/usr/bin/env bash
# `npm run bench`: starts a real redis-server and MongoDB-wire server on loopback (as the tests do), runs the
# side-by-side benchmark (bench/main.ts), stops everything. Extra arguments go to bench/main.ts
# (`npm run bench -- --help` lists them; --quick checks the harness in about a minute and a half).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=test/support/local-services.sh
source test/support/local-services.sh

local_services_init bench
redis_ensure_installed
redis_start "$workdir"
mongo_wire_start "$workdir"
# The PIDs let the bench count the servers' CPU per message too.
export REDIS_URL MONGODB_URI MONGO_BACKEND REDIS_PID MONGO_PID
echo "bench: Redis $REDIS_URL; MongoDB-wire backend: $MONGO_BACKEND"
node --import tsx bench/main.ts "$@" </dev/null
