#!/usr/bin/env bash
# The one test entry point (`npm test`). Usage:
#   bash test/run-tests.sh               every test/**/*.test.ts
#   bash test/run-tests.sh unit          only test/unit (no servers started)
#   bash test/run-tests.sh component     only test/component
#   bash test/run-tests.sh fuzz          only test/fuzz (property-based fuzzers; FUZZ_SEED, FUZZ_RUNS to explore)
#   bash test/run-tests.sh PATH...       these test files or directories
# When any selected file is outside test/unit (and does not say `test-services: none` on its first line) it
# starts a real redis-server (AOF on) and a real MongoDB-wire
# server on 127.0.0.1 (test/support/redis.sh, test/support/mongo-wire.sh), exports REDIS_URL, MONGODB_URI and
# MONGO_BACKEND to the tests, and stops them when it exits, however it exits. A REDIS_URL or MONGODB_URI already
# in the environment is used as is instead.
# Knobs: TEST_CONCURRENCY (default 1), TEST_TIMEOUT_MS (default 300000; under Node 20 it bounds each test
# *file* as well as each test, so a file whose process never exits fails instead of hanging CI), TEST_MONGO_BACKEND
# (auto|mongodb|ferretdb|mongo-java-server), KEEP_TEST_TMP=1 (keep server data/logs).
# Exits with the test runner's exit code.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# shellcheck source=test/support/redis.sh
source test/support/redis.sh
# shellcheck source=test/support/mongo-wire.sh
source test/support/mongo-wire.sh

# --- which files -------------------------------------------------------------------------------------------
targets=()
case "${1:-all}" in
  all) targets=(test) ;;
  unit) targets=(test/unit) ;;
  component) targets=(test/component) ;;
  fuzz) targets=(test/fuzz) ;;
  *) targets=("$@") ;;
esac

files=()
for t in "${targets[@]}"; do
  if [ -d "$t" ]; then
    while IFS= read -r f; do files+=("$f"); done < <(find "$t" -type f -name '*.test.ts' -not -path '*/node_modules/*' | LC_ALL=C sort)
  elif [ -f "$t" ]; then
    files+=("$t")
  else
    echo "run-tests: no such test file or directory: $t" >&2
    exit 2
  fi
done
if [ "${#files[@]}" -eq 0 ]; then
  echo "run-tests: no *.test.ts files under: ${targets[*]}" >&2
  exit 1
fi

need_services=0
for f in "${files[@]}"; do
  case "$f" in
    test/unit/*|./test/unit/*|"$root"/test/unit/*) ;;
    # A file that runs only in process says so on its first line (e.g. the parser fuzzers).
    *) head -n 1 "$f" | grep -q 'test-services: none' || need_services=1 ;;
  esac
done

node -e "require.resolve('tsx')" 2>/dev/null || { echo "run-tests: tsx is not installed; run 'npm ci' first" >&2; exit 1; }

# --- servers -----------------------------------------------------------------------------------------------
workdir=""
started_any=0
test_pid=""
phase=setup
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$test_pid" ]; then
    local strays
    strays="$(svc_group_members "$test_pid" | grep -vx "$test_pid" || true)"
    if [ -n "$strays" ] && ! kill -0 "$test_pid" 2>/dev/null; then
      echo "run-tests: stopping processes the tests left running:" >&2
      ps -o pid=,args= -p "$(paste -sd, <<<"$strays")" >&2 || true
    fi
    svc_stop_group "$test_pid" "the test runner"
  fi
  if [ "$started_any" = 1 ]; then
    if [ "$rc" != 0 ] && [ "$phase" = services ]; then
      for log in "$MONGO_LOG" "$REDIS_LOG"; do
        if [ -n "$log" ] && [ -s "$log" ]; then
          echo "---- last lines of $log" >&2
          tail -n 20 "$log" >&2 || true
        fi
      done
    fi
    mongo_wire_stop
    redis_stop
  fi
  svc_stop_watchdogs
  if [ -n "$workdir" ] && [ -d "$workdir" ]; then
    if [ "${KEEP_TEST_TMP:-0}" = 1 ]; then
      echo "run-tests: kept $workdir" >&2
    else
      rm -rf "$workdir"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ "$need_services" = 1 ]; then
  workdir="$(mktemp -d "${TMPDIR:-/tmp}/bridge-test.XXXXXX")"
  started_any=1
  [ "${KEEP_TEST_TMP:-0}" = 1 ] || svc_guard_dir "$workdir"
  phase=services
  if [ -n "${REDIS_URL:-}" ]; then
    svc_log "Redis: REDIS_URL from the environment ($REDIS_URL); nothing started"
  else
    redis_start "$workdir"
    export TEST_REDIS_STARTED=1
  fi
  mongo_wire_start "$workdir"
  export REDIS_URL MONGODB_URI MONGO_BACKEND
  echo "run-tests: Redis $REDIS_URL; MongoDB-wire backend: $MONGO_BACKEND ($MONGODB_URI)"
fi

# --- tests -------------------------------------------------------------------------------------------------
phase=tests
echo "run-tests: ${#files[@]} test file(s), concurrency ${TEST_CONCURRENCY:-1}"
# In its own process group (setsid; it does not fork here, so the group id is $!) and in the background with
# `wait`: a SIGTERM/SIGINT to this script is handled at once, and the EXIT trap stops the runner, its test
# processes and anything they left behind (e.g. a server a test started and never stopped), then the servers.
launcher=()
command -v setsid >/dev/null 2>&1 && launcher=(setsid)
set +e
"${launcher[@]}" node --import tsx --test \
  --test-concurrency="${TEST_CONCURRENCY:-1}" \
  --test-timeout="${TEST_TIMEOUT_MS:-300000}" \
  --test-reporter=spec \
  "${files[@]}" </dev/null &
test_pid=$!
svc_watchdog "$test_pid" group
wait "$test_pid"
rc=$?
set -e
exit "$rc"
