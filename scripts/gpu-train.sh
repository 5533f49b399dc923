#!/usr/bin/env bash
# Trains the default tokenizer on a GPU machine (PyTorch, no Swift): builds the shim there, unpacks a
# magvit binary built here (.carry/magvit.tar.xz) and trains configs/video-small.yaml on frames files
# made with `magvit frames`. The LPIPS AlexNet weights go in .carry/weights.
#   scripts/gpu-train.sh OUT_DIR SECONDS
# Prepare here:
#   swift build -c release --static-swift-stdlib --scratch-path .build-static --product magvit
#   mkdir -p .carry/data && strip -o .carry/magvit .build-static/release/magvit && (cd .carry && tar cJf magvit.tar.xz magvit && rm magvit)
#   B=.build-static/release/magvit
#   $B frames .deps/media/bikes.mp4 -o .carry/data/bikes.safetensors --size 256x108
#   $B frames .deps/media/bigbuckbunny.mp4 -o .carry/data/bigbuckbunny.safetensors --size 256x144
#   $B frames .deps/media/carphone_pristine.mp4 -o .carry/data/carphone.safetensors
#   mkdir -p .carry/weights && cp .deps/weights/stlpips-alex.safetensors .carry/weights/   # AlexNet: 10 MB (VGG's 59 MB would not fit the 64 MiB carry)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: gpu-train.sh OUT_DIR SECONDS}
budget=${2:-420}
python=${PYTHON:-python3}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
scripts/build-shim.sh "$torch_dir" /tmp/magvit-shim >/dev/null
mkdir -p /tmp/magvit-bin && tar xJf .carry/magvit.tar.xz -C /tmp/magvit-bin
export MAGVIT_WEIGHTS=$PWD/.carry/weights
export LD_LIBRARY_PATH=/tmp/magvit-shim:$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
/tmp/magvit-bin/magvit train configs/video-small.yaml -o "$out/run" --set run.timeBudget="$budget" --set loss.perceptualNetwork=alex \
  --set "data.train=[.carry/data/bikes.safetensors,.carry/data/bigbuckbunny.safetensors]" \
  --set "data.eval=[.carry/data/carphone.safetensors]"
cp "$out/run/tokenizer.safetensors" "$out/default-tokenizer.safetensors"
nvidia-smi --query-gpu=memory.used --format=csv,noheader
rm -f "$out"/run/checkpoint.safetensors "$out"/run/tokenizer.safetensors
# Files come back at most 16 MiB each: split the checkpoint.
(cd "$out" && split -b 12M default-tokenizer.safetensors default-tokenizer.part- && rm default-tokenizer.safetensors)
