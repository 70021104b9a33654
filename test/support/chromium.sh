#!/usr/bin/env bash
# Debian's chromium for the browser tests (driven by playwright-core, which downloads no browser of its own).
#   bash test/support/chromium.sh ensure    install chromium with apt-get when it is missing; prints its path
# Tests find it through CHROMIUM_PATH, else `chromium` / `chromium-browser` on PATH (test/support/browser.ts).

# shellcheck source=test/support/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

chromium_path() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then echo "$CHROMIUM_PATH"; return 0; fi
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null
}

chromium_ensure_installed() {
  if chromium_path >/dev/null; then return 0; fi
  svc_log "chromium not found; installing Debian's chromium with apt-get"
  svc_apt_install chromium || { svc_log "could not install chromium with apt-get"; return 1; }
  chromium_path >/dev/null || { svc_log "chromium still not on PATH after apt-get"; return 1; }
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    ensure) chromium_ensure_installed && chromium_path ;;
    *) echo "usage: $0 ensure" >&2; exit 2 ;;
  esac
fi
