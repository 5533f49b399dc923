#!/usr/bin/env bash
# Short learning-rate trials of configs/tokenizer-mix.yaml on the CPU (docs/training.md, "Learning-rate
# trials"): each a warm start from the shipped default, STEPS steps at batch 4 with 4 still images,
# no EMA (the final weights are scored), scored on the first 16 held-out clips. Needs
# scripts/fetch-photos.sh. About 12 minutes a rate on 2 cores. First the baseline: one step at a rate
# of 1e-9, i.e. the default's own weights scored the same way.
#   scripts/lr-trials.sh [STEPS] [RATE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-40}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(0.0001 0.0003 0.001)
swift build -c release --product magvit >/dev/null
for rate in 1e-9 "${rates[@]}"; do
  n=$steps
  [ "$rate" = 1e-9 ] && n=1
  out=runs/lr-trial-$rate
  rm -rf "$out"
  .build/release/magvit train configs/tokenizer-mix.yaml -o "$out" --set run.steps="$n" --set run.batch=4 \
    --set data.imageBatch=4 --set run.emaDecay=0 --set optimizer.learningRate="$rate" --set optimizer.warmupSteps=5 \
    --set data.evalSamples=16 --set run.evalEvery=100000 --set run.checkpointEvery=100000 --set run.logEvery=10 \
    | grep -E "^step|^eval" | sed "s/^/lr $rate: /"
done
