#!/usr/bin/env bash
# Train models/iop.tar.gz only when its inputs changed (content hash, not file times),
# so `make run` starts at once on an up-to-date model and retrains after any data/config edit.
#   scripts/train.sh                 train if stale
#   scripts/train.sh --fingerprint   print the inputs' hash and exit
set -euo pipefail
cd "$(dirname "$0")/.."

model=models/iop.tar.gz
stamp=models/iop.fingerprint
fingerprint=$(
  {
    # (the crisis rules are read when a server starts, not trained: a change to them needs no model)
    find data -type f \( -name '*.yml' -o -name '*.csv' \) ! -name crisis_patterns.yml | LC_ALL=C sort
    # the NLU components' code trains into the model too, and so do the files config.yml names
    # (the crisis classifier's corpora); the held-out sets in heldout/ do not
    find bot/rasa/nlu -type f -name '*.py' | LC_ALL=C sort
    echo bot/rasa/policies.py bot/domain/safety_check.py
    grep -oE '[A-Za-z0-9_./-]+\.yml' config.yml | LC_ALL=C sort -u |
      while read -r path; do if [ -f "$path" ]; then echo "$path"; fi; done
    echo config.yml domain.yml requirements.txt requirements-models.txt
  } |
    xargs sha256sum | sha256sum | cut -d' ' -f1
)
if [ "${1:-}" = --fingerprint ]; then
  echo "$fingerprint"
  exit 0
fi
if [ -f "$model" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
  echo "model up to date: $model"
  exit 0
fi
mkdir -p models
rm -f "$stamp"
echo "training $model (inputs changed) ..."
# Rasa's training cache (each component's output, by its inputs' fingerprint) and the training
# texts' sentence embeddings live outside the clone, like pip's wheels, so a fresh clone on this
# machine retrains only what changed. Rasa's fingerprints do not cover our code: the cache's
# directory is named by a hash of the modules our trained components and policies import
# (scripts/trained_code.py) and the requirements, so a change to them starts an empty one (the
# two newest are kept) and a change elsewhere (channels, actions, apps) keeps it.
# IOP_CACHE_DIR moves it; `make clean-cache` empties it.
cache_root="${IOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/iop-assistant}"
trained_code=$(.venv/bin/python scripts/trained_code.py 2>/dev/null)
test -n "$trained_code" || { echo "scripts/trained_code.py failed" >&2; exit 1; }
code=$(
  { echo "$trained_code" | xargs sha256sum
    sha256sum requirements.txt requirements-models.txt; } | sha256sum | cut -c1-16
)
export RASA_CACHE_DIRECTORY="$cache_root/rasa-$code"
export RASA_MAX_CACHE_SIZE="${RASA_MAX_CACHE_SIZE:-3000}"
export IOP_EMBEDDING_CACHE="$cache_root/embeddings"
mkdir -p "$RASA_CACHE_DIRECTORY" "$IOP_EMBEDDING_CACHE"
touch "$RASA_CACHE_DIRECTORY"
ls -dt "$cache_root"/rasa-* 2>/dev/null | tail -n +3 | xargs -r rm -rf
start=$(date +%s)
RASA_TELEMETRY_ENABLED=false .venv/bin/rasa train \
  --config config.yml --domain domain.yml --data data \
  --out models --fixed-model-name iop
echo "$fingerprint" > "$stamp"
echo "trained in $(( $(date +%s) - start )) s"
