#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter: Rasa Open Source 3.6 needs Python < 3.11.
# Order: python3.10 on PATH, then pyenv's 3.10.x versions. Fails with a clear message otherwise.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

if command -v python3.10 >/dev/null 2>&1 && is_310 python3.10; then
  command -v python3.10
  exit 0
fi
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
if [ -d "$root/versions" ]; then
  for py in $(ls -d "$root"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
    if is_310 "$py"; then echo "$py"; exit 0; fi
  done
fi
echo "error: Python 3.10 not found. Rasa 3.6 needs Python 3.10: install it (e.g. 'pyenv install 3.10') or put python3.10 on PATH." >&2
exit 1
