#!/usr/bin/env bash
# Known advisories for every package installed in .venv (pip-audit, in a venv of its own so its
# dependencies never touch the project's pins). Needs the OSV database (api.osv.dev) or PyPI's
# per-version JSON API; exits non-zero when either a package has an advisory or no database
# could be reached. IOP_AUDIT_SERVICE=pypi|osv (default osv).
set -euo pipefail
cd "$(dirname "$0")/.."
test -x .venv/bin/python || { echo "error: run make install first" >&2; exit 2; }
audit_venv=.venv-audit
if [[ ! -x "$audit_venv/bin/pip-audit" ]]; then
  py=$(scripts/find-python.sh)
  "$py" -m venv "$audit_venv"
  "$audit_venv/bin/pip" install -qq "pip-audit==2.10.1"
fi
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
exec "$audit_venv/bin/pip-audit" --strict --progress-spinner off \
  --vulnerability-service "${IOP_AUDIT_SERVICE:-osv}" --path "$site"
