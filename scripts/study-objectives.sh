#!/usr/bin/env bash
# The matched test of the paper's claim (issue 37, docs/study-objectives.md): one transformer trunk and
# one data set, only the generative objective or only the tokenizer swapped, the same budget per cell,
# several seeds. Two tasks: class-conditional Fashion-MNIST images, FID (standard Inception)
# against the test set; frame prediction on moving digits, FVD (I3D) against the real held-out clips.
#   scripts/study-objectives.sh [SCALE] [SEEDS] [TASKS]  SCALE: smoke | cpu (default) | gpu; SEEDS default 3;
#                                                        TASKS: "images video" (default), images or video
#     smoke  20 steps per tokenizer and per generator, 10 samples a class: checks the pipeline end to end
#            (55 minutes for images, 10 for video, with 1 seed beside other jobs); its numbers mean nothing
#     cpu    2,400 CPU-seconds per tokenizer, 1,800 per generator (run.budgetClock cpu: the process's CPU
#            time in training steps, so cells get the same compute beside other jobs), 100 samples a
#            class: the table at this machine's scale, about 9.5 CPU-hours per task with 3 seeds
#     gpu    the same cells on a GPU (run.device cuda): 4x wider, 2x deeper generators, tokenizers and
#            generators for 3,600 s each, 500 samples a class. Several GPUs: MAGVIT_LAUNCH="launch --nproc 8 --"
# Cells: tokenizers lfq-10 (the shipped Fashion-MNIST recipe), vq-10 (a learned 1,024-entry codebook, same
# bits), lfq-8 (smaller LFQ); generators masked on each tokenizer, autoregressive and diffusion on lfq-10
# (diffusion models the lfq-10 tokenizer's continuous encoder output and decodes through its quantizer).
# Video cells: one LFQ video tokenizer (configs/moving-digits.yaml: 9x32x32 clips -> 5x8x8 tokens of 10
# bits), the three objectives predicting its last 2 latent frames from the first 3
# (configs/moving-digits-predict.yaml), and generating whole clips unconditionally, scored by the
# trainer's final evaluation on 64 held-out clips.
# Resumable: a finished cell is kept, one with a checkpoint continues. MAGVIT=path skips the release build;
# NICE=n sets the runs' priority (default 10).
# Output: runs/study-objectives/SCALE/ (runs, samples, cells.jsonl) and the table on stdout and in
# runs/study-objectives/SCALE/table.md (scripts/study-table.py).
# The whole script is one block, read before it runs: editing the file during a study's hours cannot
# change what the running study does next.
{
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-cpu}; seeds=${2:-3}; tasks=" ${3:-images video} "; clock=()
case $scale in
  smoke) tok_budget=0 gen_budget=0 count=10 extra=(--set run.steps=20 --set run.evalEvery=100000) ;;
  cpu) tok_budget=2400 gen_budget=1800 count=100 extra=() clock=(--set run.budgetClock=cpu) ;;
  gpu) tok_budget=3600 gen_budget=3600 count=500
       extra=(--set run.device=cuda --set generator.width=1024 --set generator.depth=8 --set generator.heads=16) ;;
  *) echo "study-objectives: SCALE is smoke, cpu or gpu, got '$scale'" >&2; exit 64 ;;
esac
[[ $seeds =~ ^[1-9][0-9]*$ ]] || { echo "study-objectives: SEEDS is a positive count, got '$seeds'" >&2; exit 64; }
[[ $tasks =~ ^(\ (images|video))+\ $ ]] || { echo "study-objectives: TASKS is images, video or both, got '${3:-}'" >&2; exit 64; }
if [ -z "${MAGVIT:-}" ]; then
  swift build -c release --product magvit >/dev/null
  MAGVIT=$(swift build -c release --show-bin-path)/magvit
fi
read -r -a launch <<< "${MAGVIT_LAUNCH:-}"
out=runs/study-objectives/$scale
mkdir -p "$out"
# Passive OpenMP waits: a thread spinning while another job holds the core would be charged to a CPU budget.
nice=(env OMP_WAIT_POLICY=PASSIVE nice -n ${NICE:-10})

train() {  # COMMAND RUN FINISHED_FILE ARGS...
  local command=$1 run=$2 finished=$3; shift 3
  [ -f "$run/$finished" ] && { echo "study: $run is finished"; return; }
  local resume=(); [ -f "$run/checkpoint.safetensors" ] && resume=(--resume)
  echo "study: $command $run"
  "${nice[@]}" "$MAGVIT" "${launch[@]}" "$command" "$@" -o "$run" "${resume[@]}" > "$run.log" 2>&1 \
    || { echo "study: $run failed; its output is in $run.log" >&2; tail -5 "$run.log" >&2; exit 1; }
}

image_cells() {
  # Tokenizers: the same recipe and budget, only the quantizer differs (the device and sizes of SCALE too,
  # but not the generator's widths).
  tok_extra=(); [ "$scale" = gpu ] && tok_extra=(--set run.device=cuda)
  [ "$scale" = smoke ] && tok_extra=(--set run.steps=20 --set run.evalEvery=100000 --set data.evalSamples=64 --set data.evalWholeSet=false)
  # The VQ cell puts the file's LFQ settings back to their defaults: a VQ model does not read them, so
  # given they are refused.
  declare -A quantizer=([lfq-10]="" [lfq-8]="--set model.quantizer.bits=8"
    [vq-10]="--set model.quantizer.kind=vq --set model.quantizer.lfq.entropyWeight=0.1 --set model.quantizer.lfq.diversityGamma=1 --set model.quantizer.lfq.annealRatio=3")
  for tok in lfq-10 vq-10 lfq-8; do
    read -r -a q <<< "${quantizer[$tok]}"
    train train "$out/tokenizer-$tok" tokenizer.safetensors configs/fashion-mnist.yaml --set run.timeBudget=$tok_budget "${clock[@]}" "${q[@]}" "${tok_extra[@]}"
  done

  # Generators: (objective, tokenizer) cells, each for every seed.
  cells=("masked lfq-10" "autoregressive lfq-10" "diffusion lfq-10" "masked vq-10" "masked lfq-8")
  for cell in "${cells[@]}"; do
    read -r objective tok <<< "$cell"
    case $objective in masked) steps=12 ;; diffusion) steps=50 ;; autoregressive) steps=1 ;; esac
    for seed in $(seq 1 "$seeds"); do
      run=$out/$objective-$tok-seed$seed
      factor=(); [ "$tok" = lfq-8 ] && factor=(--set 'generator.factorBits=[4,4]')
      # diffusion reads no token factors: the tokenizer's own (one 10-bit factor), else the run is refused
      [ "$objective" = diffusion ] && factor=(--set 'generator.factorBits=[10]')
      content=tokens; [ "$objective" = diffusion ] && content=latents  # one encoding per tokenizer, shared by its runs
      train train-generator "$run" generator.safetensors configs/fashion-mnist-generator.yaml \
        --set tokenizer="$out/tokenizer-$tok/tokenizer.safetensors" --set generator.objective=$objective \
        --set data.tokenCache="$out/tokenizer-$tok/$content.safetensors" \
        --set run.seed=$seed --set run.timeBudget=$gen_budget "${clock[@]}" "${factor[@]}" "${extra[@]}"
      samples=$out/samples/$objective-$tok-seed$seed
      rm -rf "$samples"
      said=$("${nice[@]}" "$MAGVIT" generate --checkpoint "$run/generator.safetensors" --class all --count "$count" \
               --steps $steps --guidance 1 --seed "$seed" -o "$samples" 2>&1) || { echo "$said" >&2; exit 1; }
      "${nice[@]}" "$MAGVIT" eval gen fashion-mnist "$samples" --limit $((count * 10)) --json "$samples.json" > /dev/null
      python3 - "$run" "$samples.json" "$objective" "$tok" "$seed" "$said" >> "$out/cells.jsonl.new" <<'EOF'
import json, re, sys
run, scores, objective, tok, seed, said = sys.argv[1:]
log = [json.loads(l) for l in open(f"{run}/log.jsonl") if l.strip()]
trained = [r for r in log if "cpu_seconds" in r or "training_seconds" in r]
params = re.search(r"([0-9]+) parameters", open(f"{run}.log").read())
timing = re.search(r"(\d+) samples, .*?(\d+) network evaluations each: sampling ([0-9.]+) s.*decoding ([0-9.]+) s; [0-9.]+ CPU-s both \(([0-9.]+) a sample\)", said)
fid = json.load(open(scores))
print(json.dumps({
    "task": "images", "objective": objective, "tokenizer": tok, "seed": int(seed),
    "metric": "FID", "score": fid.get("fid", fid.get("FID")), "parameters": int(params.group(1)) if params else None,
    "cpu_hours": max((r.get("cpu_seconds", 0) for r in trained), default=0) / 3600,
    "wall_hours": max((r.get("training_seconds", 0) for r in trained), default=0) / 3600,
    "evaluations": int(timing.group(2)) if timing else None,
    "seconds_per_sample": (float(timing.group(3)) + float(timing.group(4))) / int(timing.group(1)) if timing else None,
    "cpu_seconds_per_sample": float(timing.group(5)) if timing else None,
}))
EOF
    done
  done
}

# Video: frame prediction and unconditional generation on moving digits with each objective on one
# video tokenizer. The score is the trainer's final evaluation on 64 held-out clips (FVD of the
# predicted or generated clips, PSNR of the predicted frames), sampled with sampling.steps: 12 masked
# decoding steps, 50 Euler steps for diffusion, one per token autoregressive.
video_cells() {
  local tok_extra=(); [ "$scale" = gpu ] && tok_extra=(--set run.device=cuda)
  local gen_extra=("${extra[@]}")
  [ "$scale" = smoke ] && { tok_extra=(--set run.steps=20); gen_extra+=(--set movingDigitClips=256 --set predictionClips=8); }
  train train "$out/tokenizer-video" tokenizer.safetensors configs/moving-digits.yaml --set run.timeBudget=$tok_budget "${clock[@]}" "${tok_extra[@]}"
  # Two video tasks on the same tokenizer: predict (3 latent frames given) and generate (unconditional,
  # generator.conditionFrames 0: FVD of 64 samples against 64 held-out clips).
  for task in predict generate; do
    for objective in masked autoregressive diffusion; do
      for seed in $(seq 1 "$seeds"); do
        local run=$out/$task-$objective-seed$seed content=tokens own=()
        # diffusion reads no token factors (the tokenizer's own, one 10-bit factor) and samples 50 Euler steps
        [ "$objective" = diffusion ] && { content=latents; own=(--set 'generator.factorBits=[10]' --set sampling.steps=50); }
        [ "$task" = generate ] && own+=(--set generator.conditionFrames=0)
        train train-generator "$run" generator.safetensors configs/moving-digits-predict.yaml \
          --set tokenizer="$out/tokenizer-video/tokenizer.safetensors" --set generator.objective=$objective \
          --set data.tokenCache="$out/tokenizer-video/$content.safetensors" \
          --set run.seed=$seed --set run.timeBudget=$gen_budget "${clock[@]}" "${own[@]}" "${gen_extra[@]}"
        python3 - "$run" "$task" "$objective" "$seed" >> "$out/cells.jsonl.new" <<'EOF'
import json, re, sys
run, task, objective, seed = sys.argv[1:]
log = [json.loads(l) for l in open(f"{run}/log.jsonl") if l.strip()]
trained = [r for r in log if "cpu_seconds" in r or "training_seconds" in r]
key = "fvd_predicted" if task == "predict" else "fvd_generated"
scored = [r for r in log if key in r]
params = re.search(r"([0-9]+) parameters", open(f"{run}.log").read())
config = json.load(open(f"{run}/config.json"))
grid, given = config["generator"]["grid"], config["generator"]["conditionFrames"]
row = {
    "task": "video prediction" if task == "predict" else "unconditional video", "objective": objective,
    "tokenizer": "lfq-10 video", "seed": int(seed), "metric": "FVD", "score": scored[-1][key] if scored else None,
    "parameters": int(params.group(1)) if params else None,
    "cpu_hours": max((r.get("cpu_seconds", 0) for r in trained), default=0) / 3600,
    "wall_hours": max((r.get("training_seconds", 0) for r in trained), default=0) / 3600,
    "evaluations": (grid[0] - given) * grid[1] * grid[2] if objective == "autoregressive" else config["sampling"]["steps"],
    "seconds_per_sample": None,
}
# The references the trainer scores beside it: the tokenizer's reconstruction, and for prediction the
# last given frame repeated and the PSNR of the predicted frames.
if scored:
    last = scored[-1]
    if task == "predict":
        row.update(psnr=last["psnr_predicted"], copy_last_frame=[last["fvd_copy_last_frame"], last["psnr_copy_last_frame"]],
                   reconstruction=[last["fvd_reconstruction"], last["psnr_reconstruction"]])
    else:
        row.update(reconstruction_fvd=last["fvd_reconstruction"])
print(json.dumps(row))
EOF
      done
    done
  done
}

# The rows of a task not run this time are kept (a row without a task is an images row).
python3 - "$out/cells.jsonl" "$tasks" > "$out/cells.jsonl.new" <<'EOF'
import json, os, sys
path, tasks = sys.argv[1], sys.argv[2].split()
run = {"images": ["images"], "video": ["video prediction", "unconditional video"]}
for line in open(path) if os.path.exists(path) else []:
    if line.strip() and json.loads(line).get("task", "images") not in sum((run[t] for t in tasks), []):
        print(line.rstrip("\n"))
EOF
if [[ $tasks == *" images "* ]]; then image_cells; fi
if [[ $tasks == *" video "* ]]; then video_cells; fi
mv "$out/cells.jsonl.new" "$out/cells.jsonl"
python3 scripts/study-table.py "$out/cells.jsonl" | tee "$out/table.md"
exit
}
