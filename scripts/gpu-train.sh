#!/usr/bin/env bash
# Trains the tokenizer on a GPU machine (PyTorch, no Swift, no ffmpeg): builds the shim there, unpacks
# a magvit binary built here and a data bundle, and trains configs/tokenizer-long.yaml (the winning CPU
# recipe of docs/training.md: real videos + virtual-camera moves over photos, the entropy penalty at
# 0.01) for SECONDS, starting from the weights in models/tokenizer-long-cpu-2.safetensors, so short
# runs add up. Writes the EMA weights (float16, split
# in 12 MB parts), the log and the config to OUT_DIR.
#   scripts/gpu-train.sh OUT_DIR SECONDS
# Prepare here (scripts/fetch-photos.sh first), then call the device with carry [".carry"]:
#   scripts/gpu-prepare.sh pack     # static binary, data bundle (96-128 px; crops of 64-96 feed the 64x64
#                                   # model), AlexNet's LPIPS weights: about 32 MB in .carry/
#   scripts/gpu-prepare.sh aside    # the default models and test fixtures out of the tree (57 -> 24 MB),
#                                   # so tree + carry stay under the device's 64 MiB; prints the total
#   ... the device call: scripts/gpu-train.sh $OUT 420 ...
#   scripts/gpu-prepare.sh restore  # put them back
# The run starts from models/tokenizer-long-cpu-2.safetensors: to continue a previous GPU run, copy its
# weights there (uncommitted) so they travel with the tree at no extra size. Held-out scoring is done
# here afterwards (`magvit eval recon`), so the bundle carries no held-out clip.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: gpu-train.sh OUT_DIR SECONDS}
budget=${2:-420}
python=${PYTHON:-python3}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
scripts/build-shim.sh "$torch_dir" /tmp/magvit-shim >/dev/null
mkdir -p /tmp/magvit-bin /tmp/magvit-data && tar xJf .carry/magvit.tar.xz -C /tmp/magvit-bin && tar xJf .carry/bundle.tar.xz -C /tmp/magvit-data
data=/tmp/magvit-data/bundle
export MAGVIT_WEIGHTS=$PWD/.carry/weights
export LD_LIBRARY_PATH=/tmp/magvit-shim:$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
/tmp/magvit-bin/magvit train configs/tokenizer-long.yaml -o "$out/run" --set run.device=cuda --set run.batch=16 \
  --set run.timeBudget="$budget" --set initialWeights=models/tokenizer-long-cpu-2.safetensors \
  --set "data.sources=[{kind: videos, train: [$data/videos]}, {kind: photo-pans, train: [$data/photos.safetensors]}]" \
  --set data.imageBatch=16 --set "data.images=[{kind: photo-pans, train: [$data/photos.safetensors], weight: 2}, {kind: videos, train: [$data/videos]}]"
cp "$out/run/tokenizer.safetensors" "$out/default-tokenizer.safetensors"
nvidia-smi --query-gpu=memory.used --format=csv,noheader
rm -f "$out"/run/checkpoint.safetensors "$out"/run/tokenizer.safetensors
# Files come back at most 16 MiB each: split the weights.
(cd "$out" && split -b 12M default-tokenizer.safetensors default-tokenizer.part- && rm default-tokenizer.safetensors)
