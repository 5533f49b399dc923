#!/usr/bin/env bash
# The held-out clips no Magvit model is trained on, as y4m (yuv420p) in DIR (default runs/heldout):
# carphone (real video, 176x144, 120 frames, from setup's sample clips), tree (real video, opencv-doc's
# tree.avi, 320x240; when opencv-doc is installed) and virtual-camera pans over scikit-image's coffee
# and astronaut photos (256x192, 68 frames). Idempotent; prints the clips' paths, one a line.
# Used by scripts/rd-study.sh and scripts/heldout-eval.sh.
#   scripts/heldout-clips.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/heldout}
mkdir -p "$out/photos"
ff() { ffmpeg -nostdin -v error -y "$@"; }
if [ ! -f "$out/photos/coffee.png" ] || [ ! -f "$out/photos/astronaut.png" ]; then
  python3 -m pip download --quiet --disable-pip-version-check --no-deps scikit-image==0.26.0 -d "$out/photos" >&2
  unzip -o -q -j "$out"/photos/scikit_image-*.whl skimage/data/coffee.png skimage/data/astronaut.png -d "$out/photos"
fi
[ -f "$out/carphone.y4m" ] || ff -i .deps/media/carphone_pristine.mp4 -pix_fmt yuv420p -f yuv4mpegpipe "$out/carphone.y4m"
tree=/usr/share/doc/opencv-doc/examples/data/tree.avi
if [ -f "$tree" ] && [ ! -f "$out/tree.y4m" ]; then ff -i "$tree" -pix_fmt yuv420p -f yuv4mpegpipe "$out/tree.y4m"; fi
[ -f "$out/pan-coffee.y4m" ] || ff -loop 1 -framerate 30 -i "$out/photos/coffee.png" \
  -vf "crop=w=256:h=192:x='(iw-256)*n/67':y='(ih-192)*(0.2+0.5*n/67)',format=yuv420p" -frames:v 68 -f yuv4mpegpipe "$out/pan-coffee.y4m"
[ -f "$out/pan-astronaut.y4m" ] || ff -loop 1 -framerate 30 -i "$out/photos/astronaut.png" \
  -vf "crop=w=256:h=192:x='(iw-256)*(1-n/67)':y='(ih-192)*n/67',format=yuv420p" -frames:v 68 -f yuv4mpegpipe "$out/pan-astronaut.y4m"
for clip in carphone tree pan-coffee pan-astronaut; do
  [ -f "$out/$clip.y4m" ] && echo "$out/$clip.y4m"
done
