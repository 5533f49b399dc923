#!/usr/bin/env bash
# Regenerates the committed parity fixtures from PyTorch in a throwaway virtual environment.
#   scripts/make-fixtures.sh            # torch 2.15.0, the libtorch the project links
# The environment lives in a temporary folder and is deleted afterwards (reuse one with VENV=path).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-}
if [ -z "$venv" ]; then
  venv=$(mktemp -d)/venv
  trap 'rm -rf "$(dirname "$venv")"' EXIT
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch==2.15.0 safetensors numpy
fi
"$venv/bin/python" "$here/scripts/fixtures/torch_fixtures.py" "$here/Tests/NNTests/Fixtures"
