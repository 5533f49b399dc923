"""Magvit tokenizer checkpoints (Sources/Tokenizer/Checkpoint.swift): a safetensors file holding the
weights under Magvit's names, with the config as JSON in its metadata (`magvit.format` =
`tokenizer-v1`, `magvit.config`). Loading is strict: a missing, unexpected or mis-shaped tensor is an
error that names it. Weights stored in another precision (float16 halves the file) load as float32.
"""
import hashlib
import os

import torch
from safetensors import safe_open

from .config import ConfigError, TokenizerConfig
from .model import VideoTokenizer

FORMAT_KEY, FORMAT, CONFIG_KEY = "magvit.format", "tokenizer-v1", "magvit.config"


class CheckpointError(ValueError):
    """A file that is not a Magvit tokenizer checkpoint, or whose tensors do not fit its config."""


def load(path, device="cpu"):
    """The tokenizer of a Magvit checkpoint (e.g. models/default-tokenizer.safetensors), in eval mode.

    >>> model = magvit_torch.load("models/default-tokenizer.safetensors")
    >>> ids = model.encode(frames)            # uint8 (T, H, W, 3) -> int64 (t, h, w)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file")
    try:
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except CheckpointError:
        raise
    except Exception as e:  # safetensors' own errors: not a safetensors file, truncated, ...
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
    if metadata.get(FORMAT_KEY) != FORMAT or CONFIG_KEY not in metadata:
        raise CheckpointError(f"{path} is not a Magvit tokenizer checkpoint (no {CONFIG_KEY} metadata)")
    try:
        config = TokenizerConfig.from_json(metadata[CONFIG_KEY])
    except ConfigError as e:
        raise CheckpointError(f"{path}: the config in its metadata is not usable: {e}") from None
    model = VideoTokenizer(config)
    own = {VideoTokenizer.magvit_name(k): k for k in model.state_dict()}
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} ({len(missing)})")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}{' ...' if len(unexpected) > 5 else ''} ({len(unexpected)})")
        raise CheckpointError(f"{path}: the tensors do not match its config {config.name}: {'; '.join(parts)}")
    state = {}
    expected = model.state_dict()
    for name, key in own.items():
        t = tensors[name]
        if tuple(t.shape) != tuple(expected[key].shape):
            raise CheckpointError(f"{path}: {name} has shape {list(t.shape)}, its config {config.name} needs {list(expected[key].shape)}")
        if not t.is_floating_point():
            raise CheckpointError(f"{path}: {name} is {t.dtype}, expected floating point")
        state[key] = t.to(torch.float32)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


_SWIFT_DTYPE = {torch.float32: "float32", torch.float64: "float64", torch.bfloat16: "bfloat16",
                torch.float16: "float16", torch.int64: "int64", torch.int32: "int32", torch.uint8: "uint8",
                torch.bool: "bool"}


def weights_hash(model):
    """SHA-256 (hex) over every weight's name, dtype, shape and bytes in name order: the identity of a
    tokenizer that token files and datasets record (VideoTokenizer.weightsHash() in Swift)."""
    h = hashlib.sha256()
    named = sorted((VideoTokenizer.magvit_name(k), v) for k, v in model.state_dict().items())
    for name, t in named:
        shape = "[" + ", ".join(str(s) for s in t.shape) + "]"
        h.update(f"{name}|{_SWIFT_DTYPE[t.dtype]}|{shape}|".encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
