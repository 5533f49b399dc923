#!/usr/bin/env bash
# Trains the tokenizer on a GPU machine (PyTorch, no Swift, no ffmpeg): builds the shim there, unpacks
# a magvit binary built here and a data bundle, and trains configs/tokenizer-long.yaml (the winning CPU
# recipe of docs/training.md: real videos + virtual-camera moves over photos, the entropy penalty at
# 0.01) for SECONDS, starting from the weights in models/tokenizer-long-cpu-2.safetensors, so short
# runs add up. Writes the EMA weights (float16, split
# in 12 MB parts), the log and the config to OUT_DIR.
#   scripts/gpu-train.sh OUT_DIR SECONDS
# Prepare here (scripts/fetch-photos.sh first). Everything that travels, the tracked tree included,
# must stay under 64 MiB (67.1 MB): data at 96-128 pixels (crops of 64-96 feed the 64x64 model), the
# bundle xz-compressed (about 14 MB as below), the binary (8 MB) and AlexNet's LPIPS weights (10 MB).
# Since the best CPU model (models/tokenizer-long-cpu-2.safetensors, 19 MB; only the latest such model
# is tracked) is tracked beside the default (2026-12-07), the tracked tree is 57 MB and the total about 89 MB: over the limit. Before a GPU call, take out of
# the working tree what this run does not read (models/default-tokenizer.safetensors and
# default-codec-prior.safetensors, 23 MB; the test fixtures under Tests/*/Fixtures, 10 MB) and put
# them back after (`git checkout -- models Tests`), which leaves about 56 MB (untested: no GPU has
# been lent since).
#   swift build -c release --static-swift-stdlib --scratch-path .build-static --product magvit
#   B=.build-static/release/magvit; mkdir -p .carry/bundle/videos .carry/weights; cv=/usr/share/doc/opencv-doc/examples/data; v=.carry/bundle/videos
#   strip -o .carry/magvit .build-static/release/magvit && (cd .carry && tar cJf magvit.tar.xz magvit && rm magvit)
#   $B frames .deps/train-data/photos --photos --shorter-side 128 -o .carry/bundle/photos.safetensors
#   $B frames .deps/media/bikes.mp4 -o $v/bikes.safetensors --size 224x96; $B frames .deps/media/bigbuckbunny.mp4 -o $v/bigbuckbunny.safetensors --size 168x96
#   $B frames $cv/Megamind.avi -o $v/megamind.safetensors --size 128x96 --max-frames 150; $B frames $cv/vtest.avi -o $v/vtest.safetensors --size 128x96 --max-frames 150
#   (cd .carry && tar cJf bundle.tar.xz bundle && rm -r bundle); cp .deps/weights/stlpips-alex.safetensors .carry/weights/
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
