"""The Open-MAGVIT2 side of `magvit-bench tokenize`: the pipeline a PyTorch user writes to tokenize a
set of videos with Open-MAGVIT2's image tokenizer: frames decoded by an ffmpeg child per video (the
same scale-and-crop filter as Magvit's reader), batched, encoded with the weights Swift exported, and
quantized with their LFQ. Prints one JSON object: frames, seconds, torch version."""
import argparse
import json
import subprocess
import time

import numpy as np
import torch
from safetensors.torch import load_file
from open_magvit2.taming.modules.diffusionmodules.improved_model import Encoder
from open_magvit2.taming.modules.vqvae.lookup_free_quantize import LFQ

p = argparse.ArgumentParser()
p.add_argument("folder")
p.add_argument("videos", nargs="+")
p.add_argument("--size", type=int, default=64)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
cfg = json.load(open(f"{a.folder}/config.json"))
encoder = Encoder(ch=cfg["ch"], out_ch=3, in_channels=3, num_res_blocks=cfg["blocks"], z_channels=cfg["bits"],
                  ch_mult=tuple(cfg["mult"]), resolution=cfg["resolution"]).eval()
state = load_file(f"{a.folder}/weights.safetensors")
encoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
quantizer = LFQ(dim=cfg["bits"], codebook_size=2 ** cfg["bits"]).eval()


def frames(path, s):
    vf = f"scale={s}:{s}:force_original_aspect_ratio=increase:flags=bicubic,crop={s}:{s}"
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-vf", vf, "-an", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:1"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, s, s, 3)


def encode(batch):
    x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        _, _, ids = quantizer(encoder(x))
    return ids


total = 0
start = time.perf_counter()
pending = []
for video in a.videos:
    for f in frames(video, a.size):
        pending.append(f)
        if len(pending) == a.batch:
            encode(pending)
            total += len(pending)
            pending = []
if pending:
    encode(pending)
    total += len(pending)
print(json.dumps({"frames": total, "seconds": time.perf_counter() - start, "torch": torch.__version__}))
