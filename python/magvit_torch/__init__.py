"""Magvit's MAGVIT-v2 video tokenizers in PyTorch (docs/pytorch.md).

    import magvit_torch
    model = magvit_torch.load("models/default-tokenizer.safetensors")
    ids = model.encode(frames)                  # uint8 (T, H, W, 3) -> LongTensor (t, h, w), as `magvit encode`
    video = model.decode(ids)                   # -> uint8 (T', H, W, 3), as `magvit decode`
    ids = magvit_torch.read_tokens("clip.mgvt") # a token file's ids (t, h, w)
    data = magvit_torch.TokenDataset("data/tokens")   # a `magvit tokenize` dataset, a torch Dataset

Names are imported on first use, so `magvit_torch.shards` (the dataset reader) needs numpy and
safetensors only.
"""
import importlib

__version__ = "0.1.0"

_LAZY = {
    "load": "checkpoint", "weights_hash": "checkpoint", "CheckpointError": "checkpoint",
    "VideoTokenizer": "model", "Quantized": "model", "TokenizerConfig": "config", "ConfigError": "config",
    "read_token_file": "tokens", "TokenFile": "tokens", "TokenFileError": "tokens",
    "read_dataset": "shards", "DatasetError": "shards", "TokenDataset": "dataset",
}
__all__ = sorted(_LAZY) + ["read_tokens"]


def read_tokens(path):
    """The ids (t, h, w) of a token file (.mgvt) as a LongTensor; TokenFileError when it is not valid."""
    import torch
    from .tokens import read_token_file
    return torch.from_numpy(read_token_file(path).ids)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'magvit_torch' has no attribute {name!r}")
