#!/usr/bin/env bash
# matplotlib for the study scripts' plots, once, into .deps/plot (git-ignored); the plotting scripts
# put it on their path (PYTHONPATH=.deps/plot).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .deps/plot/.ok ]; then
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-warn-conflicts --target .deps/plot matplotlib
  touch .deps/plot/.ok
fi
