#!/usr/bin/env bash
# The codec's rate-distortion study (docs/codec.md): Magvit against x264, x265, SVT-AV1 (Debian's
# ffmpeg) and VVC (vvenc, from PyPI's imageio-ffmpeg static ffmpeg) on clips no model was trained on:
# carphone (real video, 176x144, 120 frames) and two virtual-camera pans over scikit-image photos
# (256x192, 68 frames), made by scripts/heldout-clips.sh. Needs the codec prior (models/default-codec-prior.safetensors, or PRIOR=...).
# About 2 hours on 2 CPU cores (112 minutes measured; each of the 69 points is decoded and scored with LPIPS, MS-SSIM and I3D). Output: runs/rd-study/ (study.json, rd-*.png, rd-table.md, bd-rate.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PRIOR=${PRIOR:-models/default-codec-prior.safetensors}
OUT=${OUT:-runs/rd-study}
TOOLS=.deps/rd-tools
if [ ! -d "$TOOLS/matplotlib" ] || [ ! -d "$TOOLS/imageio_ffmpeg" ]; then
  echo "rd-study: installing matplotlib and imageio-ffmpeg (VVC) into $TOOLS"
  python3 -m pip install --quiet --disable-pip-version-check --target "$TOOLS" imageio-ffmpeg matplotlib numpy
fi
VVC_FFMPEG=$(ls "$TOOLS"/imageio_ffmpeg/binaries/ffmpeg-linux-* | head -1)
scripts/heldout-clips.sh "$OUT/clips" >/dev/null
swift build -c release --product magvit-bench
.build/release/magvit-bench rd-study --clips "$OUT"/clips/carphone.y4m "$OUT"/clips/pan-coffee.y4m "$OUT"/clips/pan-astronaut.y4m \
  --output "$OUT" --prior "$PRIOR" --vvc-ffmpeg "$VVC_FFMPEG" "$@" | tee "$OUT/study.log"
PYTHONPATH="$TOOLS" python3 scripts/rd-plot.py "$OUT"
