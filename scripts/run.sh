#!/usr/bin/env bash
# The main command: sets up (idempotent), builds the tool in release mode and reconstructs a real
# clip (carphone, 176x144, 120 frames, from the sample clips setup provides) with the shipped default
# tokenizer: output/carphone-reconstruction.mp4 shows the original and the reconstruction side by side.
# Extra arguments go to `magvit reconstruct` (e.g. --max-frames 34).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product magvit
mkdir -p output
.build/release/magvit reconstruct .deps/media/carphone_pristine.mp4 -o output/carphone-reconstruction.mp4 "$@"
echo "result: $(pwd)/output/carphone-reconstruction.mp4 (left: original, right: reconstruction)"
