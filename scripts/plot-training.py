"""Draws the curve of a `magvit train` run from its log.jsonl: training PSNR (from the L2 loss on
[-1, 1] data), held-out PSNR of the evaluations, and held-out codebook usage.
Usage: python3 scripts/plot-training.py RUN_DIR OUT.png [TITLE]"""
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

run, out = sys.argv[1], sys.argv[2]
title = sys.argv[3] if len(sys.argv) > 3 else os.path.basename(run.rstrip("/"))
records = [json.loads(line) for line in open(os.path.join(run, "log.jsonl"))]
train = [r for r in records if "kind" not in r and "reconstruction" in r]
evals = [r for r in records if r.get("kind") == "eval"]
final = [r for r in records if r.get("kind") == "final_eval"]

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
a.plot([r["step"] for r in train], [10 * math.log10(4 / r["reconstruction"]) for r in train], label="training batches (PSNR of mean MSE)")
a.plot([r["step"] for r in evals], [r["psnr"] for r in evals], "o-", label="held-out subset (EMA, mean PSNR)")
a.plot([r["step"] for r in final], [r["psnr"] for r in final], "s", color="C3", label="whole held-out set")
a.axhline(24, color="grey", linestyle=":", linewidth=1)
a.set_xlabel("step")
a.set_ylabel("PSNR (dB)")
a.legend(fontsize=8)
a.grid(alpha=0.3)
b.plot([r["step"] for r in evals], [100 * r["usage"] for r in evals], "o-", color="C1", label="held-out subset")
b.plot([r["step"] for r in final], [100 * r["usage"] for r in final], "s", color="C3", label="whole held-out set")
b.legend()
b.axhline(90, color="grey", linestyle=":", linewidth=1)
b.set_xlabel("step")
b.set_ylabel("held-out codebook usage (%)")
b.grid(alpha=0.3)
fig.suptitle(title)
fig.tight_layout()
fig.savefig(out, dpi=110)
print(f"wrote {out}")
