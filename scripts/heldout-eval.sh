#!/usr/bin/env bash
# Tokenizers side by side on the clips no model is trained on (docs/training.md): for each checkpoint,
# `magvit eval recon` on the held-out clips (scripts/heldout-clips.sh: carphone, tree, the coffee and
# astronaut pans) twice: their first 17 frames whole (the issue-31 protocol: each beside the block-mean
# floor at the same bits), and 64x64 centre crops of every frame (the earlier tables: PSNR, SSIM, LPIPS,
# rFID, rFVD, codebook usage and perplexity, also beside the floor); and one picture of frame 40 of
# carphone and of the coffee pan through each, whole frames: original | each checkpoint in the order
# given. About 6 minutes a checkpoint on 2 cores.
#   scripts/heldout-eval.sh [CHECKPOINT ...]      (default: the shipped model)
# Output: runs/heldout-eval/NAME-whole17.{json,txt} and NAME.{json,txt} (NAME: the checkpoint's folder
# and file name), samples.png.
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoints=("$@")
[ ${#checkpoints[@]} -gt 0 ] || checkpoints=(models/default-tokenizer.safetensors)
out=runs/heldout-eval
mkdir -p "$out/frames"
swift build -c release --product magvit >/dev/null
scripts/heldout-clips.sh runs/heldout | xargs realpath > "$out/clips.txt"
ff() { ffmpeg -nostdin -v error -y "$@"; }
name() { echo "$(basename "$(dirname "$1")")-$(basename "$1" .safetensors)"; }  # a checkpoint's name in the outputs
# Frame 40 (0-based) of a side-by-side reconstruction: the left half (the original) or the right
# (the model's), centred on a white 256x192 tile so both clips' frames line up in the picture.
frame() { ff -i "$1" -vf "select=eq(n\,40),crop=iw/2:ih:$2:0,pad=256:192:(ow-iw)/2:(oh-ih)/2:white" -frames:v 1 "$3"; }
rows=()
for clip in carphone pan-coffee; do
  row=("$out/frames/$clip-original.png")
  for c in "${checkpoints[@]}"; do
    name=$(name "$c")
    .build/release/magvit reconstruct "runs/heldout/$clip.y4m" --checkpoint "$c" -o "$out/frames/$clip-$name.mkv" | tail -1
    frame "$out/frames/$clip-$name.mkv" 0 "$out/frames/$clip-original.png"
    frame "$out/frames/$clip-$name.mkv" iw/2 "$out/frames/$clip-$name.png"
    row+=("$out/frames/$clip-$name.png")
  done
  inputs=(); for f in "${row[@]}"; do inputs+=(-i "$f"); done
  ff "${inputs[@]}" -filter_complex "hstack=inputs=${#row[@]}" "$out/frames/$clip-row.png"
  rows+=(-i "$out/frames/$clip-row.png")
done
ff "${rows[@]}" -filter_complex vstack "$out/samples.png"
for c in "${checkpoints[@]}"; do
  name=$(name "$c")
  echo "== $c"
  .build/release/magvit eval recon --data "$out/clips.txt" --max-frames 17 --checkpoint "$c" --json "$out/$name-whole17.json" | tee "$out/$name-whole17.txt"
  .build/release/magvit eval recon --data "$out/clips.txt" --size 64x64 --checkpoint "$c" --json "$out/$name.json" | tee "$out/$name.txt"
done
echo "wrote $out/samples.png (original | ${checkpoints[*]})"
