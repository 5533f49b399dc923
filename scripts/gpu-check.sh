#!/usr/bin/env bash
# Runs on a GPU machine that has PyTorch but no Swift: builds the shim against that PyTorch and runs
# Swift binaries built elsewhere with --static-swift-stdlib (unpacked from .carry/bins.tar.xz).
#   scripts/gpu-check.sh [OUT_DIR]
# Prepare the binaries on a machine with Swift:
#   swift build -c release --static-swift-stdlib --scratch-path .build-static --product magvit
#   swift build -c release --static-swift-stdlib --scratch-path .build-static --product magvit-bench
#   mkdir -p .carry && for b in magvit magvit-bench; do strip -o .carry/$b .build-static/release/$b; done
#   (cd .carry && tar cJf bins.tar.xz magvit magvit-bench && rm magvit magvit-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/magvit-gpu}
mkdir -p "$out" /tmp/magvit-bin
python=${PYTHON:-python3}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
scripts/build-shim.sh "$torch_dir" /tmp/magvit-shim
tar xJf .carry/bins.tar.xz -C /tmp/magvit-bin
export LD_LIBRARY_PATH=/tmp/magvit-shim:$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
/tmp/magvit-bin/magvit selfcheck --device cuda --steps 50 | tee "$out/selfcheck.txt"
/tmp/magvit-bin/magvit-bench --device cuda --threads 2 --warmup 3 --iterations 20 --python "$(command -v "$python")" | tee "$out/bench-cuda.txt"
