#!/usr/bin/env bash
# The motion-digits classifier study of docs/classifier.md: token inputs (bits, factors), pixels at
# matched size and steps, masked-token pre-training, the I3D probe; each scored on the test split,
# in order and with shuffled frames. Needs the moving-digits tokenizer (runs/moving-digits, made by
#   magvit train configs/moving-digits.yaml -o runs/moving-digits) and a release build. Runs one job at a
# time (2 cores); every step resumes or is skipped when its result exists. About 65 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
m=.build/release/magvit
out=runs/classifier-study
mkdir -p "$out"
config=configs/motion-digits-classifier.yaml

train() {  # NAME SETTINGS...
  local name=$1; shift
  if [ ! -f "$out/$name/classifier.safetensors" ]; then
    local resume=; [ -f "$out/$name/checkpoint.safetensors" ] && resume=--resume
    /usr/bin/time -f "$name: %e s wall" $m train-classifier $config -o "$out/$name" $resume "$@"
  fi
}
score() {  # NAME CLIPS [--shuffle-frames]
  local name=$1 clips=$2; shift 2
  local tag=test; [ $# -gt 0 ] && tag=shuffled
  [ -f "$out/$name-$tag.json" ] || $m eval classify --model "$out/$name/classifier.safetensors" --motion-digits "$clips" \
    --threads 2 --json "$out/$name-$tag.json" --confusion "$out/$name-$tag.png" "$@"
}

train pixels --set classifier.input=pixels
train bits --set classifier.input=bits
train factors --set classifier.input=factors
if [ ! -f "$out/pretrain/generator.safetensors" ]; then
  resume=; [ -f "$out/pretrain/checkpoint.safetensors" ] && resume=--resume
  /usr/bin/time -f "pretrain: %e s wall" $m train-generator configs/motion-digits-pretrain.yaml -o "$out/pretrain" $resume
fi
# Pre-training for the token input that did better on the validation split.
best=$(python3 -c '
import json, sys
top1 = {n: [json.loads(l) for l in open(f"{sys.argv[1]}/{n}/log.jsonl")][-1]["top1"] for n in ("bits", "factors")}
print(max(top1, key=top1.get))' "$out")
train $best-pretrained --set classifier.input=$best --set initialize=$out/pretrain/generator.safetensors
for name in pixels bits factors $best-pretrained; do
  score $name 1000
  score $name 1000 --shuffle-frames
done
# The I3D probe: frozen features of 1,000 training clips (I3D costs about 0.5 s a clip on 2 cores).
train i3d-probe --set classifier.input=features --set trainClips=1000 --set evalClips=200 --set run.steps=1500
score i3d-probe 500
echo "done: $out"
