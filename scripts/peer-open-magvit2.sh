#!/usr/bin/env bash
# The peer of the recipe study (issue 31, docs/training.md "The peer: Open-MAGVIT2's recipe"):
# Open-MAGVIT2's own model, quantizer and loss (PyPI open-magvit2 1.1: its Encoder/Decoder, LFQ and
# VQLPIPSWithDiscriminator with its released image config's loss weights, Adam betas (0.5, 0.9), LitEma)
# trained on exactly the batches Magvit's image-first stage trains on and scored on exactly its
# held-out frames (both made by `magvit-bench dump-data` from configs/recipes/image-first.yaml), for
# BUDGET_SECONDS of training time, 2 threads, nice'd, like a `magvit train` of the study.
#   scripts/peer-open-magvit2.sh [BUDGET_SECONDS] [-- extra options of scripts/peer_open_magvit2.py]
# Default budget 3600 s. Resumable: a run folder with a checkpoint continues from it; a finished
# one (final.pt) is kept. Output: runs/recipes/peer-open-magvit2/ (log.jsonl with "eval" records
# psnr, floor_psnr, training_seconds, as the trainer's), which scripts/plot-recipes.py draws beside
# the recipes: python3 scripts/plot-recipes.py runs/recipes image-first-images peer-open-magvit2
#
# Python: .deps/peer-venv, made here once (about a minute): a venv without system packages whose torch
# is the libtorch Magvit links (.deps/python, unpacked by scripts/setup.sh, importable through the
# CUDA stand-ins of .deps/torch-venv), plus open-magvit2 1.1 without its dependencies and only what
# its model and loss modules import (einops, torchvision for LPIPS's VGG16, requests and tqdm for
# taming/util.py). Lightning is not installed: the training loop is scripts/peer_open_magvit2.py's.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-3600}; shift || true
[ "${1:-}" = "--" ] && shift
run=runs/recipes/peer-open-magvit2
config=configs/recipes/image-first.yaml

venv=.deps/peer-venv
if ! [ -f $venv/.ok ]; then
  [ -f .deps/torch-venv/.torch-2.15.0 ] || { echo "peer: run scripts/setup.sh first (.deps/python and .deps/torch-venv)" >&2; exit 1; }
  echo "peer: making $venv (open-magvit2 1.1 beside Magvit's torch 2.15)"
  rm -rf $venv
  python3 -m venv $venv
  site=$($venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # Magvit's unpacked torch, numpy and safetensors, and torch-venv's CUDA stand-ins (paths relative to
  # site-packages: lib/pythonX.Y/site-packages).
  printf '../../../../python\n../../../../python-tools\n' > "$site/magvit-deps.pth"
  cp .deps/torch-venv/lib/python*/site-packages/_magvit_cuda_stubs.py "$site/"
  ln -s ../torch-venv/cuda-stubs $venv/cuda-stubs
  echo "import _magvit_cuda_stubs" > "$site/magvit-cuda-stubs.pth"
  pip=($venv/bin/python -m pip install -q --disable-pip-version-check --root-user-action=ignore)
  # (pip's notes that open-magvit2's and torch's other requirements are missing go to pip.log)
  { "${pip[@]}" --no-deps open-magvit2==1.1 torchvision==0.29.2 einops==0.8.1 &&
    "${pip[@]}" typing_extensions sympy requests tqdm pillow; } > $venv/pip.log 2>&1 || { cat $venv/pip.log >&2; exit 1; }
  $venv/bin/python -c 'import torch, torchvision, open_magvit2.taming.modules.losses.vqperceptual, open_magvit2.taming.modules.vqvae.lookup_free_quantize'
  touch $venv/.ok
fi

# The data: Magvit's batches of the image-first stage, made by its own sources (magvit-bench dump-data).
bench=
for b in .build/release/magvit-bench .build/debug/magvit-bench; do
  [ -x $b ] && $b --help 2>/dev/null | grep -q "^ *dump-data " && { bench=$b; break; }
done
[ -n "$bench" ] || { swift build --product magvit-bench >/dev/null; bench=.build/debug/magvit-bench; }
[ -d .deps/train-data/videos ] || { echo "peer: no training data: scripts/fetch-photos.sh first" >&2; exit 1; }
mkdir -p "$run"
[ -f "$run/final.pt" ] && { echo "peer: $run is finished (remove $run/final.pt to train on)"; exit 0; }
# A copy of the binary for the run: a build during the hours it trains may replace .build's.
cp "$bench" "$run/magvit-bench"
bench=$run/magvit-bench

OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 exec nice -n 10 $venv/bin/python scripts/peer_open_magvit2.py \
  --run "$run" --config "$config" --bench "$bench" --budget "$budget" --threads 2 "$@"
