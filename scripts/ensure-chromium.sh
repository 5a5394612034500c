#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never `playwright install`: it cannot download here).
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
  exit 0
fi
echo "error: $CHROMIUM is missing; install Debian's 'chromium' package (sudo apt-get install chromium)" >&2
exit 1
