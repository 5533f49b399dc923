#!/usr/bin/env bash
# Runs on a GPU machine that has PyTorch but no Swift: builds the shim against that PyTorch and runs
# Swift binaries built elsewhere with --static-swift-stdlib (unpacked from .carry/bins.tar.xz):
# the self-check, the benchmarks against PyTorch, Open-MAGVIT2 and vector-quantize-pytorch, and NCCL
# (pure-Python wheels of the peers in .whl/, installed into /tmp/site).
#   scripts/gpu-check.sh [OUT_DIR]
# Prepare on a machine with Swift:
#   for p in magvit magvit-bench; do swift build -c release --static-swift-stdlib --scratch-path .build-static --product $p; done
#   mkdir -p .carry && for b in magvit magvit-bench; do strip -o .carry/$b .build-static/release/$b; done
#   (cd .carry && tar cJf bins.tar.xz magvit magvit-bench && rm magvit magvit-bench)
#   python3 -m pip download --no-deps --python-version 3.12 --only-binary=:all: -d .whl \
#     open-magvit2==1.1 vector-quantize-pytorch==1.32.0 einx frozendict loguru torch-einops-utils \
#     magvit2-pytorch==0.5.1 gateloop-transformer==0.2.5 taylor-series-linear-attention==0.2.0 kornia==0.9.0 \
#     x-transformers==2.31.10 ema-pytorch==0.8.3 accelerate==1.15.0 pytorch-warmup==0.2.0 pytorch-custom-utils==0.0.21 \
#     beartype==0.23.1 rotary-embedding-torch==0.9.1 jaxtyping==0.3.11 wadler-lindig==0.1.8
#   (kornia-rs is a binary wheel: add --platform manylinux_2_28_x86_64 for it; torchvision is the GPU machine's.)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/magvit-gpu}
mkdir -p "$out" /tmp/magvit-bin
python=${PYTHON:-python3}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
scripts/build-shim.sh "$torch_dir" /tmp/magvit-shim
tar xJf .carry/bins.tar.xz -C /tmp/magvit-bin
if [ -d .whl ]; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export LD_LIBRARY_PATH=/tmp/magvit-shim:$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
py=$(command -v "$python")
bin=/tmp/magvit-bin
$bin/magvit selfcheck --device cuda --steps 50 | tee "$out/selfcheck.txt"
$bin/magvit-bench resblock --device cuda --warmup 3 --iterations 20 --tiny-calls 200000 --python "$py" | tee "$out/bench-resblock.txt"
$bin/magvit-bench tokenizer --device cuda --warmup 2 --iterations 10 --video --batches 1,8,32 --python "$py" | tee "$out/bench-tokenizer.txt" || true
$bin/magvit-bench lfq --device cuda --tokens 4096 --python "$py" | tee "$out/bench-lfq.txt"
for peer in open-magvit2 magvit2-pytorch; do
  $bin/magvit-bench train-step --device cuda --peer $peer --batch 8 --losses full --warmup 3 --iterations 10 --python "$py" \
    | tee "$out/bench-train-step-$peer.txt" || true
done
# The paper's video-128 preset with Open-MAGVIT2's recipe: the fraction of the bf16 peak, and a profile.
$bin/magvit-bench train-step --device cuda --ours-only --preset video-128 --peer open-magvit2 --batch 8 --losses full \
  --warmup 3 --iterations 10 --rounds 1 --profile --trace "$out/train-step-video-128.trace.json" | tee "$out/bench-train-step-video-128.txt" || true
# NCCL (docs/distributed.md): the shim's NCCL backend, first as a group of one on GPU 0 (NCCL's
# communicator and kernels end to end), with Gloo's all-reduce of the same CUDA tensors through host
# memory beside it; with several GPUs, one rank per GPU: the bandwidth, a short NCCL training run,
# and the step time with the gradient all-reduce overlapped with backward against after it.
if [ -f /tmp/magvit-shim/libmagvit_nccl.so ]; then
  $bin/magvit-bench all-reduce --device cuda --backend nccl | tee "$out/bench-all-reduce-nccl.txt" || true
else
  echo "no libmagvit_nccl.so: build-shim.sh found no NCCL header (nccl.h) for this torch" | tee "$out/bench-all-reduce-nccl.txt"
fi
$bin/magvit-bench all-reduce --device cuda --backend gloo | tee "$out/bench-all-reduce-gloo.txt" || true
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
if [ "$gpus" -ge 2 ] && [ -f /tmp/magvit-shim/libmagvit_nccl.so ]; then
  for backend in nccl gloo; do
    for ((r = 0; r < gpus; r++)); do
      RANK=$r LOCAL_RANK=$r WORLD_SIZE=$gpus MASTER_ADDR=127.0.0.1 MASTER_PORT=29517 \
        $bin/magvit-bench all-reduce --device cuda:$r --backend $backend > "$out/bench-all-reduce-$backend-$gpus-rank$r.txt" 2>&1 &
    done
    wait || true
  done
  $bin/magvit launch --nproc "$gpus" -- train benchmarks/distributed.yaml -o /tmp/magvit-nccl-run --device cuda \
    --set run.backend=nccl --set run.steps=40 --set run.logEvery=10 2>&1 | tee "$out/train-nccl-$gpus-gpus.txt" || true
  # The gradient all-reduce overlapped with backward against after it, on NCCL (run.backend auto on CUDA).
  $bin/magvit-bench data-parallel-overlap --device cuda --nproc "$gpus" --config benchmarks/overlap.yaml --steps 10 --rounds 4 \
    --bucket-elements 1048576 2>&1 | tee "$out/bench-overlap-$gpus-gpus.txt" || true
fi
