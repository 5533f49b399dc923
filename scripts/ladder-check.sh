#!/usr/bin/env bash
# The quality ladder checked (issue 34, docs/codec.md "Quality levels"): every `magvit compress
# --quality` level on five clips (the held-out carphone, tree, coffee and astronaut pans, and bikes
# at 256x108: the clip that showed the old ladder's fault), decompressed at the source's size and
# scored with `magvit eval compare` (PSNR, LPIPS); a level whose LPIPS is not below the one under it
# on some clip is reported and the script exits 1. About 2 minutes a clip on 2 cores.
#   scripts/ladder-check.sh [FRAMES]      (default 17 frames of each clip)
# Output: runs/ladder-check/table.md, and each level's stream and scores.
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${1:-17}
swift build -c release --product magvit >/dev/null
magvit=.build/release/magvit
out=runs/ladder-check
mkdir -p "$out"
clips=($(scripts/heldout-clips.sh runs/heldout))
[ -f "$out/bikes.y4m" ] || ffmpeg -nostdin -v error -y -i .deps/media/bikes.mp4 -vf scale=256:108,format=yuv420p -frames:v "$frames" -f yuv4mpegpipe "$out/bikes.y4m"
clips+=("$out/bikes.y4m")
echo "| clip | level | bytes | bpp (source) | PSNR dB | LPIPS |" > "$out/table.md"
echo "| --- | --- | --- | --- | --- | --- |" >> "$out/table.md"
bad=0
for clip in "${clips[@]}"; do
  name=$(basename "$clip" .y4m)
  ffmpeg -nostdin -v error -y -i "$clip" -frames:v "$frames" -f yuv4mpegpipe "$out/$name-ref.y4m"
  previous=""
  for q in 1 2 3 4 5; do  # OperatingPoint.ladder's levels
    stream=$out/$name-q$q.mgvc decoded=$out/$name-q$q.y4m
    rm -f "$stream" "$decoded"
    "$magvit" compress "$out/$name-ref.y4m" -o "$stream" --quality "$q" >/dev/null
    "$magvit" decompress "$stream" -o "$decoded" --size source >/dev/null
    "$magvit" eval compare "$out/$name-ref.y4m" "$decoded" --stream "$stream" --skip fvd --json "$out/$name-q$q.json" >/dev/null
    read -r bytes bpp psnr lpips < <(python3 -c "import json,os,sys; r=json.load(open(sys.argv[1]))['videos'][0]; print(os.path.getsize(sys.argv[2]), round(r['bpp'], 5), round(r['psnr'], 2), round(r['lpips'], 4))" "$out/$name-q$q.json" "$stream")
    echo "| $name | $q | $bytes | $bpp | $psnr | $lpips |" | tee -a "$out/table.md"
    if [ -n "$previous" ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$lpips" "$previous"; then
      echo "ladder-check: $name level $q has LPIPS $lpips, not below level $((q - 1))'s $previous" >&2
      bad=1
    fi
    previous=$lpips
  done
done
echo "wrote $out/table.md"
exit $bad
