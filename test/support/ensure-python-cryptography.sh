#!/usr/bin/env bash
# Makes sure a Python with `cryptography` (the reference Fernet) exists for the interop test, and prints its
# path on stdout. Idempotent: when the venv is already set up this only starts Python once (~0.2 s).
# Everything else goes to stderr. Exits non-zero with a reason if the venv cannot be made.
#
#   PYTHON                  interpreter to build the venv from (default: python3)
#   FERNET_PYVENV           venv directory (default: <repo>/.cache/pyvenv, gitignored)
#   CRYPTOGRAPHY_VERSION    pinned so CI and laptops test against the same reference (default below)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${FERNET_PYVENV:-$root/.cache/pyvenv}"
version="${CRYPTOGRAPHY_VERSION:-50.0.2}"
base_python="${PYTHON:-python3}"
py="$venv/bin/python"
check="import cryptography, cryptography.fernet, sys; sys.exit(cryptography.__version__ != '$version')"

if [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; then
  echo "$py"
  exit 0
fi

fail() {
  echo "ensure-python-cryptography: $*" >&2
  exit 1
}

mkdir -p "$(dirname "$venv")"
# Two test runs at once must not build the same venv together.
exec 9>"$venv.lock"
flock 9 2>/dev/null || true

if ! { [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; }; then
  command -v "$base_python" >/dev/null || fail "'$base_python' not found; install Python 3 or set PYTHON"
  echo "ensure-python-cryptography: creating $venv with cryptography==$version" >&2
  if [ ! -x "$py" ] || ! "$py" -c 'import sys' 2>/dev/null; then
    "$base_python" -m venv --clear "$venv" >&2 \
      || fail "'$base_python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  "$py" -m pip install --quiet --disable-pip-version-check --no-input "cryptography==$version" >&2 \
    || fail "pip could not install cryptography==$version from PyPI"
  "$py" -c "$check" || fail "cryptography==$version installed but not importable"
fi

echo "$py"
