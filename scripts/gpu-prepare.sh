#!/usr/bin/env bash
# Prepares this checkout for scripts/gpu-train.sh on a lent GPU machine, which receives the working
# tree (tracked files and untracked ones git does not ignore) plus the carried paths, 64 MiB in all.
#   scripts/gpu-prepare.sh pack      # static binary, data bundle and LPIPS weights into .carry/ (minutes)
#   scripts/gpu-prepare.sh aside     # moves what the GPU run does not read into .gpu-aside/ (ignored)
#   scripts/gpu-prepare.sh size      # what would travel with `carry: [".carry"]`; fails over 64 MiB
#   scripts/gpu-prepare.sh restore   # puts the set-aside files back
# `aside` is needed since the best CPU model (models/tokenizer-long-cpu-*.safetensors, the run's
# starting weights) is tracked beside the default: the tracked tree alone is about 57 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((64 * 1024 * 1024))
# Not read by gpu-train.sh: the default models and the test fixtures.
aside=(models/default-tokenizer.safetensors models/default-codec-prior.safetensors Tests/*/Fixtures)

size() {
  local tree carry=0 total
  tree=$(travelling)
  if [ -d .carry ]; then carry=$(du -sb .carry | cut -f1); fi
  total=$((tree + carry))
  printf 'working tree %.1f MB + .carry %.1f MB = %.1f MB of %.1f MB\n' \
    "$(echo "$tree / 1000000" | bc -l)" "$(echo "$carry / 1000000" | bc -l)" "$(echo "$total / 1000000" | bc -l)" "$(echo "$limit / 1000000" | bc -l)"
  if [ "$total" -gt "$limit" ]; then
    echo "over the device's 64 MiB: scripts/gpu-prepare.sh aside takes out what the GPU run does not read" >&2
    return 1
  fi
}

travelling() {
  { git ls-files -z; git ls-files -z --others --exclude-standard; } | while IFS= read -r -d '' f; do
    if [ -f "$f" ]; then stat -c %s "$f"; fi
  done | awk '{s += $1} END {print s + 0}'
}

case ${1:-} in
  pack)
    swift build -c release --static-swift-stdlib --scratch-path .build-static --product magvit
    B=.build-static/release/magvit; cv=/usr/share/doc/opencv-doc/examples/data; v=.carry/bundle/videos
    rm -rf .carry/bundle .carry/magvit.tar.xz .carry/bundle.tar.xz
    mkdir -p "$v" .carry/weights
    strip -o .carry/magvit "$B"
    (cd .carry && tar cJf magvit.tar.xz magvit && rm magvit)
    "$B" frames .deps/train-data/photos --photos --shorter-side 128 -o .carry/bundle/photos.safetensors
    "$B" frames .deps/media/bikes.mp4 -o $v/bikes.safetensors --size 224x96
    "$B" frames .deps/media/bigbuckbunny.mp4 -o $v/bigbuckbunny.safetensors --size 168x96
    "$B" frames $cv/Megamind.avi -o $v/megamind.safetensors --size 128x96 --max-frames 150
    "$B" frames $cv/vtest.avi -o $v/vtest.safetensors --size 128x96 --max-frames 150
    (cd .carry && tar cJf bundle.tar.xz bundle && rm -r bundle)
    cp .deps/weights/stlpips-alex.safetensors .carry/weights/
    size ;;
  aside)
    for p in "${aside[@]}"; do
      [ -e "$p" ] || continue
      mkdir -p ".gpu-aside/$(dirname "$p")"
      mv "$p" ".gpu-aside/$p"
    done
    size ;;
  restore)
    [ -d .gpu-aside ] || { echo "nothing set aside"; exit 0; }
    (cd .gpu-aside && find . -mindepth 1 -maxdepth 3 \( -name Fixtures -o -name '*.safetensors' \) -print0) |
      while IFS= read -r -d '' p; do mkdir -p "$(dirname "$p")"; mv ".gpu-aside/$p" "$p"; done
    find .gpu-aside -depth -type d -empty -delete
    git status --short -- models Tests ;;
  size) size ;;
  *) echo "usage: scripts/gpu-prepare.sh pack|aside|size|restore" >&2; exit 2 ;;
esac
