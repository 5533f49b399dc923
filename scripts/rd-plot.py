"""Draws the rate-distortion curves of `magvit-bench rd-study` and computes Bjontegaard-delta rates.

Usage: python3 scripts/rd-plot.py STUDY_DIR [EARLIER_DIR ...]   (reads STUDY_DIR/study.json, or without one
the rows of an interrupted study's study.log, FVD then absent; writes rd-*.png, rd-table.md, bd-rate.json
into STUDY_DIR). Rows of a (clip, codec) the study did not run (`magvit-bench rd-study --codecs`) are
taken from the earlier studies named, first found first: the standard codecs' results do not depend on
Magvit's models, so a study of a new tokenizer need not re-run them. Such rows are marked in the table.

Curves: for each codec and setting, bits per pixel and each metric averaged over the clips (FVD pooled
over the clips' 16-frame windows); Magvit's points coded at a lower scale are a curve of their own
("magvit scaled"). BD-rate (Bjontegaard 2001, VCEG-M33): per clip, log10(bpp) fitted as a cubic in
the metric for both codecs, the mean difference over the metric range both curves cover,
as a percentage change in rate at equal quality (negative: fewer bits than the anchor); for LPIPS the
metric is -LPIPS. Magvit's curve there is the front of all its points (at each rate the best
setting, what rate control would choose). Clips where the ranges do not overlap have no BD-rate,
and are reported as such.
"""
import json
import os
import re
import sys
from collections import defaultdict

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

folder = sys.argv[1]


def from_log(path):
    """The rows of an interrupted study from its log lines (no FVD: its features are only in study.json)."""
    pattern = re.compile(r"^(\S+) (\S+) (.+?): ([\d.]+) bpp, PSNR ([\d.]+) \(Y ([\d.]+)\), SSIM ([\d.]+), MS-SSIM (\S+), LPIPS ([\d.]+), "
                         r"encode ([\d.]+) s, decode ([\d.]+) s$")
    rows = []
    for line in open(path):
        m = pattern.match(line.strip())
        if m:
            clip, codec, setting, bpp, psnr, psnr_y, ssim, msssim, lpips, enc, dec = m.groups()
            rows.append({"clip": clip, "codec": codec, "setting": setting, "bpp": float(bpp), "encodeSeconds": float(enc), "decodeSeconds": float(dec),
                         "scores": {"psnr": float(psnr), "psnrY": float(psnr_y), "ssim": float(ssim), "lpips": float(lpips),
                                    **({"msSSIM": float(msssim)} if msssim != "-" else {})}})
    return {"rows": rows, "fvd": {}, "from_log": True}


def load(folder):
    path = os.path.join(folder, "study.json")
    study = json.load(open(path)) if os.path.exists(path) else from_log(os.path.join(folder, "study.log"))
    for r in study["rows"]:
        # Studies before 2026-12-02 named a scaled point's size in its setting ("4/4 groups at 0.5x (88x72)"):
        # the size moves to codedSize, so the clips' rows of one setting meet; their FVD stays under the old name.
        m = re.match(r"^(.* at [\d.]+x) \((\d+x\d+)\)$", r["setting"])
        if m:
            r["fvdKey"], r["setting"], r["codedSize"] = r["setting"], m.group(1), m.group(2)
    return study


study = load(folder)
rows = study["rows"]
for earlier in sys.argv[2:]:
    have = {(r["clip"], r["codec"]) for r in rows}
    clips_here = {r["clip"] for r in rows}
    taken = [dict(r, earlier=earlier) for r in load(earlier)["rows"] if r["clip"] in clips_here and (r["clip"], r["codec"]) not in have]
    rows += taken
    print(f"{len(taken)} rows taken from {earlier}")


def series(r):
    """The curve a row belongs to: its codec, Magvit's points coded at a lower scale on a curve of their own."""
    return r["codec"] + (" scaled" if r["codec"] == "magvit" and " at " in r["setting"] else "")


codecs = []
for r in rows:
    if series(r) not in codecs:
        codecs.append(series(r))
clips = sorted({r["clip"] for r in rows})


def metric(r, name):
    s = r["scores"]
    return {"psnr": s["psnr"], "psnr_y": s["psnrY"], "ssim": s["ssim"], "ms_ssim": s.get("msSSIM"), "lpips": s.get("lpips")}[name]


def curve(codec, name, clip=None):
    """(bpp, value) per setting, averaged over clips, sorted by rate."""
    by_setting = defaultdict(list)
    for r in rows:
        if series(r) == codec and (clip is None or r["clip"] == clip):
            v = metric(r, name) if name != "fvd" else None
            by_setting[r["setting"]].append((r["bpp"], v))
    points = []
    for setting, values in by_setting.items():
        bpp = sum(b for b, _ in values) / len(values)
        if name == "fvd":
            v = study["fvd"].get(f"{codec.split()[0]} {setting}")
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


def front(points):
    """The points no other beats at a lower or equal rate (what rate control would choose among Magvit's settings)."""
    kept = []
    for b, q in sorted(points):
        if not kept or q > kept[-1][1]:
            kept.append((b, q))
    return kept


names = {"psnr": "PSNR RGB (dB)", "psnr_y": "PSNR Y (dB)", "ms_ssim": "MS-SSIM", "ssim": "SSIM", "lpips": "LPIPS (AlexNet, shift-tolerant)"}
for clip in clips:
    shown = [n for n in names if any(curve(c, n, clip) for c in codecs)]
    if study["fvd"]:
        shown.append("fvd")
    figure, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6))
    for axis, name in zip(axes, shown):
        for codec in codecs:
            points = curve(codec, name, clip if name != "fvd" else None)
            if points:
                axis.plot([p[0] for p in points], [p[1] for p in points], "o-", label=codec, markersize=4, color=f"C{codecs.index(codec)}")
        axis.set_xscale("log")
        axis.set_xlabel("bits per pixel")
        axis.set_title(names.get(name, "FVD (pooled over the clips)"), fontsize=10)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(clip)
    figure.tight_layout()
    figure.savefig(os.path.join(folder, f"rd-{clip}.png"), dpi=100)
    plt.close(figure)

bd = {}
for quality in ["psnr", "lpips"]:
    per_clip = {}
    for clip in clips:
        anchor = [(b, v if quality != "lpips" else -v) for b, v, _ in curve("x265", quality, clip)]
        test = front([(b, v if quality != "lpips" else -v) for b, v, _ in curve("magvit", quality, clip) + curve("magvit scaled", quality, clip)])
        per_clip[clip] = bd_rate(anchor, test)
    values = [v for v in per_clip.values() if v is not None]
    bd[quality] = {"per_clip": per_clip, "mean": sum(values) / len(values) if values else None}
json.dump(bd, open(os.path.join(folder, "bd-rate.json"), "w"), indent=2)

lines = []
for clip in clips:
    lines += [f"**{clip}**", "", "| codec | setting | bpp | PSNR | PSNR-Y | SSIM | MS-SSIM | LPIPS | FVD | encode s | decode s |", "|" + " --- |" * 11]
    for r in [r for r in rows if r["clip"] == clip]:
        ms, fvd = metric(r, "ms_ssim"), study["fvd"].get(f"{r['codec']} {r.get('fvdKey', r['setting'])}")
        setting = r["setting"] + (f" ({r['codedSize']})" if r.get("codedSize") else "")
        lines.append(f"| {r['codec']}{' (earlier run)' if r.get('earlier') else ''} | {setting} | {r['bpp']:.4f} | {metric(r, 'psnr'):.2f} | {metric(r, 'psnr_y'):.2f} | {metric(r, 'ssim'):.4f} | "
                     f"{f'{ms:.4f}' if ms is not None else '-'} | {metric(r, 'lpips'):.4f} | {f'{fvd:.1f}' if fvd is not None else '-'} | "
                     f"{r['encodeSeconds']:.2f} | {r['decodeSeconds']:.2f} |")
    lines.append("")
open(os.path.join(folder, "rd-table.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
for quality, result in bd.items():
    shown = {c: (f"{v:+.1f} %" if v is not None else "no overlap") for c, v in result["per_clip"].items()}
    print(f"BD-rate of magvit against x265 on {quality}: {shown}" + (f", mean {result['mean']:+.1f} %" if result["mean"] is not None else ""))
