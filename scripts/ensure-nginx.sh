#!/usr/bin/env bash
# The production profile (`make run-production`) and its tests put Debian's nginx in front of
# several Rasa and action servers (bot/ops/balancer.py); installed with apt when missing.
set -euo pipefail
if [[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null; then
  exit 0
fi
if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian's nginx-light for the production profile ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
  exit 0
fi
echo "error: nginx is missing; install Debian's 'nginx-light' package (sudo apt-get install nginx-light)" >&2
exit 1
