"""Is there inference speed left above eager oneDNN convolutions on this CPU? Open-MAGVIT2's image-128
encoder and decoder (base 128, random weights), eager against PyTorch's own inference compiler:
torch.jit.trace -> freeze -> optimize_for_inference (weights pre-packed for oneDNN, conv + add and
conv + activation fused where it can). Alternated in rounds, batch 1 at 128x128; prints each round's
best of --iterations calls and the median ratio eager/frozen (docs/speed.md).

    .deps/bench-venv/bin/python benchmarks/open_magvit2_frozen.py --threads 2 --rounds 4
"""
import argparse
import statistics
import time
import warnings

import torch

from open_magvit2.taming.modules.diffusionmodules.improved_model import Decoder, Encoder

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--rounds", type=int, default=4)
p.add_argument("--iterations", type=int, default=3)
a = p.parse_args()
warnings.filterwarnings("ignore")
torch.set_num_threads(a.threads)
torch.manual_seed(0)
layout = dict(ch=128, out_ch=3, in_channels=3, num_res_blocks=4, z_channels=18, ch_mult=(1, 1, 2, 2, 4), resolution=128)
encoder, decoder = Encoder(**layout).eval(), Decoder(**layout).eval()
image = torch.rand(1, 3, 128, 128) * 2 - 1
codes = torch.randint(0, 2, (1, 18, 8, 8)).float() * 2 - 1


def best(f, x):
    f(x)  # warm-up
    times = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        f(x)
        times.append(time.perf_counter() - t0)
    return min(times)


with torch.no_grad():
    frozen = {
        "encode": torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(encoder, image))),
        "decode": torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(decoder, codes))),
    }
    eager = {"encode": encoder, "decode": decoder}
    inputs = {"encode": image, "decode": codes}
    for name in inputs:
        assert torch.allclose(eager[name](inputs[name]), frozen[name](inputs[name]), atol=1e-3, rtol=1e-3), name
    ratios = {name: [] for name in inputs}
    print(f"torch {torch.__version__}, {a.threads} threads, Open-MAGVIT2 image-128 (base 128), batch 1, best of {a.iterations} a round")
    for r in range(a.rounds):
        for name in inputs:
            sides = [("eager", eager[name]), ("frozen", frozen[name])]
            if r % 2:
                sides.reverse()
            t = {side: best(f, inputs[name]) for side, f in sides}
            ratios[name].append(t["eager"] / t["frozen"])
            print(f"round {r + 1} {name}: eager {t['eager']:.3f} s, frozen {t['frozen']:.3f} s", flush=True)
    for name, values in ratios.items():
        print(f"{name}: eager/frozen median {statistics.median(values):.3f} (speed-up of the frozen model)")
