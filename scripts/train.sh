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
    find data -type f \( -name '*.yml' -o -name '*.csv' \) | LC_ALL=C sort
    # the NLU components' code trains into the model too, and so do the files config.yml names
    # (the crisis classifier's corpora); an evaluation-only set in tests/safety/ does not
    find bot/nlu -type f -name '*.py' | LC_ALL=C sort
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
start=$(date +%s)
RASA_TELEMETRY_ENABLED=false .venv/bin/rasa train \
  --config config.yml --domain domain.yml --data data \
  --out models --fixed-model-name iop
echo "$fingerprint" > "$stamp"
echo "trained in $(( $(date +%s) - start )) s"
