#!/usr/bin/env python3
"""Reads a Magvit token dataset (made by `magvit tokenize`): the reader is the magvit_torch package's
(python/magvit_torch/shards.py), which this script runs from the repository without installing it.

    python3 scripts/read_tokens.py DATASET [--json]

Needs numpy and safetensors (`pip install ./python` brings them, or PYTHONPATH=.deps/python-tools after
scripts/setup.sh). From Python: `from magvit_torch.shards import read_dataset`, or the PyTorch Dataset
`magvit_torch.TokenDataset` (docs/pytorch.md).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "python"))

from magvit_torch.shards import main, read_dataset  # noqa: E402,F401  (read_dataset: for importers of this script)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
