#!/usr/bin/env bash
# `npm run chaos`: starts a real MongoDB-wire server on loopback (as the tests do; the run starts and restarts its
# own redis-server), runs the chaos driver (chaos/main.ts), stops everything. Arguments go to the driver
# (`npm run chaos -- --help`). Exits with the driver's code: 0 only when the run passed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=test/support/local-services.sh
source test/support/local-services.sh

local_services_init chaos
redis_ensure_installed
mongo_wire_start "$workdir"
export MONGODB_URI MONGO_BACKEND
echo "chaos: MongoDB-wire backend: $MONGO_BACKEND" >&2
launcher=()
command -v setsid >/dev/null 2>&1 && launcher=(setsid)
set +e
# The driver's own children (bridge processes, its redis-server) go with its process group at exit.
driver_name="the chaos driver"
"${launcher[@]}" node --import tsx chaos/main.ts "$@" </dev/null &
driver_pid=$!
svc_watchdog "$driver_pid" group
wait "$driver_pid"
rc=$?
set -e
exit "$rc"
