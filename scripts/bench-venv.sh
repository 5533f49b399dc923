#!/usr/bin/env bash
# Makes .deps/bench-venv, a Python environment with the same torch as the libtorch Magvit links,
# for the Python side of magvit-bench (about 2 minutes and 5 GB; not needed for building or tests).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .deps/bench-venv/bin/python ] && .deps/bench-venv/bin/python -c 'import torch' 2>/dev/null && exit 0
python3 -m venv .deps/bench-venv
.deps/bench-venv/bin/pip install -q --disable-pip-version-check torch==2.15.0 numpy
