"""The table of the objectives study (scripts/study-objectives.sh): one row per (objective, tokenizer)
cell, FID as the mean over seeds with a 95 % confidence interval (Student's t, n - 1 degrees of
freedom), parameters, training CPU-hours, network evaluations and seconds per sample.
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


cells = defaultdict(list)
for line in open(sys.argv[1]):
    if line.strip():
        row = json.loads(line)
        cells[(row["objective"], row["tokenizer"])].append(row)

print("| objective | tokenizer | FID (mean ± 95 % CI) | seeds | parameters | training CPU-hours | evaluations / sample | s / sample |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for (objective, tokenizer), rows in cells.items():
    mean, half = interval([r["fid"] for r in rows])
    fid = f"{mean:.1f} ± {half:.1f}" if half is not None else f"{mean:.1f}"
    params = rows[0]["parameters"]
    hours = statistics.fmean(r["cpu_hours"] for r in rows)
    evaluations = rows[0]["evaluations"]
    seconds = statistics.fmean(r["seconds_per_sample"] for r in rows if r["seconds_per_sample"] is not None)
    print(f"| {objective} | {tokenizer} | {fid} | {len(rows)} | {params:,} | {hours:.2f} | {evaluations} | {seconds:.3f} |")
