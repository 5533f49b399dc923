#!/usr/bin/env bash
# FID of a class-conditional Fashion-MNIST generator for 8, 12 and 24 decoding steps, without and with
# classifier-free guidance: COUNT samples per class (default 100) against the first 10*COUNT test
# images, table on stdout and in RUN/fid.md. Sampling speed: magvit-bench sampling.
#   scripts/generator-fid.sh RUN [COUNT]      (MAGVIT=path/to/magvit skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: generator-fid.sh RUN [COUNT]}
count=${2:-100}
if [ -z "${MAGVIT:-}" ]; then
  swift build -c release --product magvit >/dev/null
  MAGVIT=$(swift build -c release --show-bin-path)/magvit
fi
limit=$((count * 10))
table=$run/fid.md
{
  echo "| decoding steps | guidance w | FID ($limit samples vs $limit test images) |"
  echo "| --- | --- | --- |"
} > "$table"
for steps in 8 12 24; do
  for guidance in 0 1; do
    out=$run/fid-samples/steps$steps-w$guidance
    rm -rf "$out"
    "$MAGVIT" generate --checkpoint "$run/generator.safetensors" --class all --count "$count" --steps "$steps" \
      --guidance "$guidance" --seed 1 -o "$out" >/dev/null 2>&1
    fid=$("$MAGVIT" eval gen fashion-mnist "$out" --limit "$limit" --json "$out.json" 2>/dev/null | grep '^FID' | cut -d' ' -f2)
    echo "| $steps | $guidance | $fid |" | tee -a "$table"
  done
done
echo "wrote $table"
