#!/usr/bin/env bash
# The website's chat widget (rasa-webchat, web/package-lock.json): `npm ci` in web/ when
# web/node_modules is missing or older than the lock file. Needs node and npm (node 20).
set -euo pipefail
cd "$(dirname "$0")/../web"
STAMP=node_modules/.package-lock.json   # npm writes it on every install
if [[ -f "$STAMP" && ! package-lock.json -nt "$STAMP" && -f node_modules/rasa-webchat/lib/index.js ]]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "error: npm is missing; install Node.js 20 (it brings npm) to build the website" >&2
  exit 1
fi
echo "installing the website's packages (npm ci in web/) ..."
npm ci --no-audit --no-fund --loglevel=error
touch "$STAMP"
