#!/usr/bin/env bash
# The paper's vocabulary experiment at small scale: LFQ versus VQ at 2^8, 2^10, 2^12 and 2^14 codes,
# the same image tokenizer (configs/vocabulary.yaml) and the same steps on Fashion-MNIST; then the
# held-out PSNR and codebook usage of each as a table (stdout, docs/vocabulary.md) and a plot
# (docs/vocabulary.png). Runs go to runs/vocabulary/; finished ones are kept and not trained again.
#   scripts/vocabulary-experiment.sh [STEPS]      (MAGVIT=path/to/magvit skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
scripts/setup.sh >/dev/null
if [ -z "${MAGVIT:-}" ]; then
  swift build -c release --product magvit >/dev/null
  MAGVIT=$(swift build -c release --show-bin-path)/magvit
fi
magvit=$MAGVIT
for kind in lfq vq; do
  for bits in 8 10 12 14; do
    out=runs/vocabulary/$kind-$bits
    if [ -f "$out/tokenizer.safetensors" ]; then continue; fi
    rm -rf "$out"
    echo "== $kind 2^$bits"
    "$magvit" train configs/vocabulary.yaml -o "$out" --set run.steps="$steps" \
      --set model.quantizer.kind=$kind --set model.quantizer.bits=$bits | tail -2
  done
done
scripts/plot-packages.sh
PYTHONPATH=.deps/plot python3 scripts/plot-vocabulary.py runs/vocabulary docs/vocabulary.png | tee docs/vocabulary.md
