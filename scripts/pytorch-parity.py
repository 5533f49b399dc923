#!/usr/bin/env python3
"""The PyTorch side of the parity check between magvit_torch and the Swift tool (docs/pytorch.md).

    python scripts/pytorch-parity.py MODEL.safetensors FRAMES.safetensors TOKENS.mgvt OUT.safetensors

FRAMES holds `frames`, uint8 (T, H, W, 3); TOKENS is the Swift tool's token file of the same frames.
Writes to OUT: `ids` (magvit_torch's encode of the frames), `decoded` (float32 (T, H, W, 3) in [0, 1]:
the token file's ids decoded clip by clip before rounding) and `decoded_uint8` (the same rounded as
the tool's writer); prints a JSON line of what it checked on its own: the token file read back, the
weights hash against the file's, a batch of two encoded as each alone, and the seconds taken.
`PyTorchPackageTests` (Tests/DatasetTests) runs it and compares the outputs with Swift's.
"""
import json
import sys
import time

import torch
from safetensors.torch import load_file, save_file

import magvit_torch


def main(model_path, frames_path, tokens_path, out_path):
    torch.set_num_threads(2)
    model = magvit_torch.load(model_path)
    frames = load_file(frames_path)["frames"]
    start = time.time()
    ids = model.encode(frames)
    encode_seconds = time.time() - start
    token_file = magvit_torch.read_token_file(tokens_path)
    reference = magvit_torch.read_tokens(tokens_path)
    start = time.time()
    decoded = model.decode(reference, chunks=token_file.chunks, dtype=torch.float32)
    decode_seconds = time.time() - start
    decoded_uint8 = model.decode(reference, frames=token_file.frames)
    batch = model.encode(torch.stack([frames, frames.flip(1)]))
    report = {
        "grid": list(ids.shape),
        "token_file_grid": list(reference.shape),
        "weights_hash_matches": magvit_torch.weights_hash(model) == token_file.header["tokenizer"]["weights"],
        "batch_matches_single": bool(torch.equal(batch[0], ids)),
        "batch_second_matches": bool(torch.equal(batch[1], model.encode(frames.flip(1).contiguous()))),
        "encode_seconds": round(encode_seconds, 2),
        "decode_seconds": round(decode_seconds, 2),
    }
    save_file({"ids": ids.contiguous(), "decoded": decoded.contiguous(), "decoded_uint8": decoded_uint8.contiguous()}, out_path)
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
