#!/usr/bin/env bash
# Regenerates the tokenizer's peer-parity fixtures in a throwaway virtual environment with torch,
# vector-quantize-pytorch and open-magvit2 (its heavy training dependencies are skipped: the
# fixtures need only its model and quantizer modules).
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
"$venv/bin/pip" install -q --no-deps open-magvit2==1.1 vector-quantize-pytorch==1.32.0 einops einx frozendict loguru \
  torch-einops-utils
"$venv/bin/python" "$here/scripts/fixtures/peer_fixtures.py" "$here/Tests/TokenizerTests/Fixtures"
