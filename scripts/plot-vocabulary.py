"""Reads runs/vocabulary/{lfq,vq}-{bits}/log.jsonl (the final_eval record of each run), prints a
markdown table and draws held-out PSNR and codebook usage against vocabulary size.
Usage: python3 scripts/plot-vocabulary.py RUNS_DIR OUT.png"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

runs, out = sys.argv[1], sys.argv[2]
results = {}
for name in sorted(os.listdir(runs)):
    kind, bits = name.split("-")
    final = [json.loads(line) for line in open(os.path.join(runs, name, "log.jsonl")) if '"final_eval"' in line]
    if final:
        results[(kind, int(bits))] = final[-1]

print("| quantizer | codes | held-out PSNR (dB) | SSIM | codes used | usage | perplexity |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for (kind, bits), r in sorted(results.items()):
    print(f"| {kind.upper()} | 2^{bits} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['codes_used']} | {100 * r['usage']:.1f}% | {r['perplexity']:.1f} |")

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
for kind, marker in (("lfq", "o"), ("vq", "s")):
    bits = sorted(k[1] for k in results if k[0] == kind)
    a.plot(bits, [results[(kind, x)]["psnr"] for x in bits], marker=marker, label=kind.upper())
    b.plot(bits, [100 * results[(kind, x)]["usage"] for x in bits], marker=marker, label=kind.upper())
for ax, label in ((a, "held-out PSNR (dB)"), (b, "codebook usage (%)")):
    ax.set_xlabel("vocabulary size (log2)")
    ax.set_ylabel(label)
    ax.set_xticks([8, 10, 12, 14])
    ax.grid(alpha=0.3)
    ax.legend()
fig.suptitle("LFQ vs VQ on Fashion-MNIST, same model and steps")
fig.tight_layout()
fig.savefig(out, dpi=110)
