"""Draws the rate-distortion curves of `magvit-bench rd-study` and computes Bjontegaard-delta rates.

Usage: python3 scripts/rd-plot.py STUDY_DIR     (reads STUDY_DIR/study.json; writes rd-*.png, rd-table.md, bd-rate.json)

Curves: for each codec and setting, bits per pixel and each metric averaged over the clips (FVD pooled
over the clips' 16-frame windows). BD-rate (Bjontegaard 2001, VCEG-M33): per clip, log10(bpp) fitted as a
cubic in the metric for both codecs, the mean difference over the metric range both curves cover,
as a percentage change in rate at equal quality (negative: fewer bits than the anchor); for LPIPS the
metric is -LPIPS. Clips where the ranges do not overlap have no BD-rate, and are reported as such.
"""
import json
import math
import os
import sys
from collections import defaultdict

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

folder = sys.argv[1]
study = json.load(open(os.path.join(folder, "study.json")))
rows = study["rows"]
codecs = []
for r in rows:
    if r["codec"] not in codecs:
        codecs.append(r["codec"])
clips = sorted({r["clip"] for r in rows})


def metric(r, name):
    s = r["scores"]
    return {"psnr": s["psnr"], "psnr_y": s["psnrY"], "ssim": s["ssim"], "ms_ssim": s.get("msSSIM"), "lpips": s.get("lpips")}[name]


def curve(codec, name, clip=None):
    """(bpp, value) per setting, averaged over clips, sorted by rate."""
    by_setting = defaultdict(list)
    for r in rows:
        if r["codec"] == codec and (clip is None or r["clip"] == clip):
            v = metric(r, name) if name != "fvd" else None
            by_setting[r["setting"]].append((r["bpp"], v))
    points = []
    for setting, values in by_setting.items():
        bpp = sum(b for b, _ in values) / len(values)
        if name == "fvd":
            v = study["fvd"].get(f"{codec} {setting}")
        else:
            vs = [v for _, v in values if v is not None]
            v = sum(vs) / len(vs) if len(vs) == len(values) else None
        if v is not None:
            points.append((bpp, v, setting))
    return sorted(points)


def bd_rate(anchor, test):
    """Bjontegaard-delta rate of test against anchor, points (bpp, quality) with quality increasing; None without overlap."""
    if len(anchor) < 4 or len(test) < 4:
        return None
    qa, ra = np.array([q for _, q in anchor]), np.log10([b for b, _ in anchor])
    qt, rt = np.array([q for _, q in test]), np.log10([b for b, _ in test])
    low, high = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if low >= high:
        return None
    pa, pt = np.polyint(np.polyfit(qa, ra, 3)), np.polyint(np.polyfit(qt, rt, 3))
    diff = ((np.polyval(pt, high) - np.polyval(pt, low)) - (np.polyval(pa, high) - np.polyval(pa, low))) / (high - low)
    return (10 ** diff - 1) * 100


names = {"psnr": "PSNR RGB (dB)", "psnr_y": "PSNR Y (dB)", "ms_ssim": "MS-SSIM (256x192 clips)", "lpips": "LPIPS (AlexNet, shift-tolerant)", "fvd": "FVD (pooled)"}
for name, label in names.items():
    plt.figure(figsize=(5.5, 4))
    for codec in codecs:
        points = curve(codec, name)
        if points:
            plt.plot([p[0] for p in points], [p[1] for p in points], "o-", label=codec, markersize=4)
    plt.xscale("log")
    plt.xlabel("bits per pixel")
    plt.ylabel(label)
    plt.grid(True, which="both", alpha=0.3)
    plt.legend()
    plt.title(f"{label} vs rate, mean over {len(clips)} held-out clips" if name != "fvd" else f"{label} vs rate")
    plt.tight_layout()
    plt.savefig(os.path.join(folder, f"rd-{name.replace('_', '-')}.png"), dpi=110)
    plt.close()

bd = {}
for quality in ["psnr", "lpips"]:
    per_clip = {}
    for clip in clips:
        anchor = [(b, v if quality != "lpips" else -v) for b, v, _ in curve("x265", quality, clip)]
        test = [(b, v if quality != "lpips" else -v) for b, v, _ in curve("magvit", quality, clip)]
        per_clip[clip] = bd_rate(anchor, test)
    values = [v for v in per_clip.values() if v is not None]
    bd[quality] = {"per_clip": per_clip, "mean": sum(values) / len(values) if values else None}
json.dump(bd, open(os.path.join(folder, "bd-rate.json"), "w"), indent=2)

lines = ["| codec | setting | bpp | PSNR | PSNR-Y | SSIM | MS-SSIM | LPIPS | FVD | encode s | decode s |", "|" + " --- |" * 11]
for codec in codecs:
    settings = []
    for r in rows:
        if r["codec"] == codec and r["setting"] not in settings:
            settings.append(r["setting"])
    for setting in settings:
        rs = [r for r in rows if r["codec"] == codec and r["setting"] == setting]
        mean = lambda f: sum(f(r) for r in rs) / len(rs)
        ms = [metric(r, "ms_ssim") for r in rs if metric(r, "ms_ssim") is not None]
        fvd = study["fvd"].get(f"{codec} {setting}")
        lines.append(f"| {codec} | {setting} | {mean(lambda r: r['bpp']):.4f} | {mean(lambda r: metric(r, 'psnr')):.2f} | {mean(lambda r: metric(r, 'psnr_y')):.2f} | "
                     f"{mean(lambda r: metric(r, 'ssim')):.4f} | {sum(ms) / len(ms) if ms else float('nan'):.4f} | {mean(lambda r: metric(r, 'lpips')):.4f} | "
                     f"{fvd if fvd is not None else float('nan'):.1f} | {mean(lambda r: r['encodeSeconds']):.2f} | {mean(lambda r: r['decodeSeconds']):.2f} |")
open(os.path.join(folder, "rd-table.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
for quality, result in bd.items():
    shown = {c: (f"{v:+.1f} %" if v is not None else "no overlap") for c, v in result["per_clip"].items()}
    print(f"BD-rate of magvit against x265 on {quality}: {shown}" + (f", mean {result['mean']:+.1f} %" if result["mean"] is not None else ""))
