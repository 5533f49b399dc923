"""The tables of the objectives study (scripts/study-objectives.sh): one row per (task, objective,
tokenizer) cell, the score (FID for images, FVD for video) as the mean over seeds with a
95 % confidence interval (Student's t, n - 1 degrees of freedom), parameters, training CPU-hours,
network evaluations and CPU-seconds per sample, sampling and decoding (wall-clock seconds for rows
written before generate reported CPU time; video: PSNR of the predicted frames instead).
    python3 scripts/study-table.py runs/study-objectives/cpu/cells.jsonl
"""
import json
import statistics
import sys
from collections import defaultdict

# Two-sided 95 % quantiles of Student's t for 1..10 degrees of freedom.
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]


def interval(values):
    """Mean and the half-width of its 95 % confidence interval (None with one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    t = T95[min(len(values) - 1, len(T95)) - 1]
    return mean, t * statistics.stdev(values) / len(values) ** 0.5


def shown(values, digits=1):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    mean, half = interval(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}" if half is not None else f"{mean:.{digits}f}"


tasks = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    if line.strip():
        row = json.loads(line)
        # Rows written before the video task: images, FID under "fid".
        row.setdefault("task", "images")
        row.setdefault("metric", "FID")
        row.setdefault("score", row.get("fid"))
        tasks[row["task"]][(row["objective"], row["tokenizer"])].append(row)

for task, cells in tasks.items():
    metric = next(iter(cells.values()))[0]["metric"]
    video = any("psnr" in r for rows in cells.values() for r in rows)
    # CPU-seconds, unchanged by other jobs on the machine; wall-clock seconds only where a row lacks them.
    cpu = all(r.get("cpu_seconds_per_sample") is not None for rows in cells.values() for r in rows)
    last = "PSNR predicted (dB)" if video else "CPU-s / sample" if cpu else "s / sample"
    print(f"\n**{task}**\n")
    print(f"| objective | tokenizer | {metric} (mean ± 95 % CI) | seeds | parameters | training CPU-hours | evaluations / sample | {last} |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (objective, tokenizer), rows in cells.items():
        params = f'{rows[0]["parameters"]:,}' if rows[0]["parameters"] is not None else "—"
        hours = statistics.fmean(r["cpu_hours"] for r in rows)
        extra = shown([r.get("psnr") for r in rows], 2) if video else shown([r["cpu_seconds_per_sample" if cpu else "seconds_per_sample"] for r in rows], 3)
        print(f"| {objective} | {tokenizer} | {shown([r['score'] for r in rows])} | {len(rows)} | "
              f"{params} | {hours:.2f} | {rows[0]['evaluations']} | {extra} |")
    # Video prediction's references, scored by every run on its seed's held-out clips (the same clips
    # for every objective of a seed): their mean over the runs.
    for key, name in [("copy_last_frame", "the last given frame repeated"), ("reconstruction", "the tokenizer's reconstruction")]:
        refs = [r[key] for rows in cells.values() for r in rows if r.get(key)]
        if refs:
            fvd, psnr = statistics.fmean(f for f, _ in refs), statistics.fmean(p for _, p in refs)
            print(f"| *{name}* | | {fvd:.1f} | | | | | {psnr:.2f} |")
    refs = [r["reconstruction_fvd"] for rows in cells.values() for r in rows if r.get("reconstruction_fvd") is not None]
    if refs:
        print(f"| *the tokenizer's reconstruction* | | {statistics.fmean(refs):.1f} | | | | | |")
