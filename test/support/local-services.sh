# Local servers for the repository's scripts (npm run bench, npm run chaos, npm run dev): source it, call
# `local_services_init NAME`, then start what the script needs with redis_start / mongo_wire_start "$workdir".
# It makes $workdir (a throwaway directory under TMPDIR) and installs the EXIT/INT/TERM traps that, however the
# script ends, stop the process group of $driver_pid when the script set one (its driver and the driver's
# children), then the MongoDB-wire server and redis-server it started, then the watchdogs, and remove $workdir.
# The script's exit code is kept. test/run-tests.sh has its own, stricter version (it reports stray processes).
_local_services_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/support/redis.sh
source "$_local_services_dir/redis.sh"
# shellcheck source=test/support/mongo-wire.sh
source "$_local_services_dir/mongo-wire.sh"

workdir=""
driver_pid=""
driver_name="the driver"

local_services_init() {
  workdir="$(mktemp -d "${TMPDIR:-/tmp}/bridge-$1.XXXXXX")"
  trap local_services_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  svc_guard_dir "$workdir"
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
local_services_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$driver_pid" ] || svc_stop_group "$driver_pid" "$driver_name"
  mongo_wire_stop || true
  redis_stop || true
  svc_stop_watchdogs || true
  [ -z "$workdir" ] || rm -rf "$workdir"
  exit "$rc"
}
