#!/usr/bin/env bash
# Quality per CPU-hour (issue 31, docs/training.md "Quality per CPU-hour"): trains each tokenizer
# recipe from scratch for the same CPU budget on the same data and threads, one after another (never
# two at once: timings on a 2-core machine), then scores every final model on the held-out clips
# (scripts/heldout-eval.sh: whole frames, 17 frames, beside the block-mean floor at the same bits).
# The trainer's own held-out evaluations (log.jsonl "eval" records with training_seconds) give each
# recipe's curve; scripts/plot-recipes.py draws them with the floor as a line.
#   scripts/recipe-study.sh [BUDGET_SECONDS] [RECIPE ...]     default 3600 s; recipes:
#     video-small         configs/recipes/video-small.yaml, today's recipe from scratch
#     image-first         configs/recipes/image-first.yaml for half the budget, then
#                         configs/recipes/image-first-video.yaml warm-started from it (inflated) for the rest
#     cpu-small           configs/recipes/cpu-small.yaml, half the channels, 2x the clips a step (3x a CPU-second), lr 1e-3
#     short-budget        video-small with lr 1e-3, warm-up 20, EMA 0.95 and no perceptual term
#     cpu-small-short     cpu-small with short-budget's warm-up and EMA, the perceptual term kept
#     peer-open-magvit2   Open-MAGVIT2's own recipe on image-first's batches and held-out frames
#                         (scripts/peer-open-magvit2.sh; its curve only: it makes no Magvit model to score)
# Resumable: a recipe whose run folder holds a checkpoint continues (--resume); a finished one is kept.
# Output: runs/recipes/RECIPE/ (run folders), runs/recipes/heldout/ (scores), runs/recipes/curves.png.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-3600}; shift || true
recipes=("$@"); [ ${#recipes[@]} -gt 0 ] || recipes=(video-small image-first cpu-small short-budget)
swift build -c release --product magvit >/dev/null
magvit=.build/release/magvit
[ -d .deps/train-data/videos ] || scripts/fetch-photos.sh "$magvit"
out=runs/recipes
mkdir -p "$out"
train() {  # RUN CONFIG BUDGET [--set ...]
  local run=$1 config=$2 seconds=$3; shift 3
  [ -f "$run/tokenizer.safetensors" ] && { echo "recipe-study: $run is finished"; return; }
  local resume=(); [ -f "$run/checkpoint.safetensors" ] && resume=(--resume)
  OMP_WAIT_POLICY=PASSIVE nice -n 10 "$magvit" train "$config" -o "$run" --threads 2 --set run.timeBudget="$seconds" "$@" "${resume[@]}"
}
models=()
for recipe in "${recipes[@]}"; do
  case $recipe in
    video-small|cpu-small) train "$out/$recipe" "configs/recipes/$recipe.yaml" "$budget" ;;
    short-budget) train "$out/$recipe" configs/recipes/video-small.yaml "$budget" --set optimizer.learningRate=0.001 \
                    --set optimizer.warmupSteps=20 --set run.emaDecay=0.95 --set loss.perceptualWeight=0 ;;
    cpu-small-short) train "$out/$recipe" configs/recipes/cpu-small.yaml "$budget" \
                    --set optimizer.warmupSteps=20 --set run.emaDecay=0.95 ;;
    image-first)
      train "$out/image-first-images" configs/recipes/image-first.yaml $((budget / 2))
      train "$out/$recipe" configs/recipes/image-first-video.yaml $((budget - budget / 2)) \
        --set initialWeights="$out/image-first-images/tokenizer.safetensors" ;;
    peer-open-magvit2) scripts/peer-open-magvit2.sh "$budget"; continue ;;
    *) echo "recipe-study: unknown recipe '$recipe' (video-small, image-first, cpu-small, short-budget, cpu-small-short, peer-open-magvit2)" >&2; exit 64 ;;
  esac
  models+=("$out/$recipe/tokenizer.safetensors")
done
[ ${#models[@]} -eq 0 ] || scripts/heldout-eval.sh "${models[@]}"
scripts/plot-packages.sh
PYTHONPATH=.deps/plot python3 scripts/plot-recipes.py --cpu "$out" "${recipes[@]}"
