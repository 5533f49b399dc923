"""Quality per CPU-hour (issue 31): each recipe's held-out PSNR against training CPU time, from the
trainer's own evaluations (log.jsonl records of kind "eval"/"final_eval": psnr, floor_psnr,
training_seconds), with the block-mean floor at the same bits as a line; a two-stage recipe
(image-first) is drawn from the end of its image stage. Writes RUNS/curves.png and RUNS/curves.md.
A RECIPE is any run folder under RUNS with such a log, the peer's too (scripts/peer-open-magvit2.sh
logs the same records on the same held-out frames as image-first's image stage):
    python3 scripts/plot-recipes.py runs/recipes RECIPE...
    python3 scripts/plot-recipes.py --cpu runs/recipes RECIPE...   (x: the process's CPU time, cpu_seconds,
        which load on a shared machine stretches far less than wall-clock time; runs logged before it
        existed fall back to wall-clock, marked "wall" in the table)
    python3 scripts/plot-recipes.py runs/recipes image-first-images peer-open-magvit2
"""
import json
import sys
from pathlib import Path


def evals(run):
    log = Path(run) / "log.jsonl"
    if not log.exists():
        return []
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("kind") in ("eval", "final_eval") and "training_seconds" in r]


args = sys.argv[1:]
cpu = "--cpu" in args
args = [a for a in args if a != "--cpu"]


def clock(rows):
    """The key of the x axis for a run's records: cpu_seconds when asked for and every record has it."""
    return "cpu_seconds" if cpu and rows and all("cpu_seconds" in r for r in rows) else "training_seconds"


def stage_seconds(run):
    rows = [json.loads(line) for line in (Path(run) / "log.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "training_seconds" in r]
    key = clock(rows)
    return max((r.get(key, 0) for r in rows), default=0)


folder = Path(args[0])
curves, floors, clocks = {}, [], {}
for recipe in args[1:]:
    offset = stage_seconds(folder / "image-first-images") if recipe == "image-first" and (folder / "image-first-images").exists() else 0
    rows = evals(folder / recipe)
    key = clock(rows)
    clocks[recipe] = "CPU" if key == "cpu_seconds" else "wall"
    points = [((r[key] + offset) / 3600, r["psnr"]) for r in rows]
    floors += [r["floor_psnr"] for r in evals(folder / recipe) if "floor_psnr" in r]
    curves[recipe] = points
floor = sum(floors) / len(floors) if floors else None

lines = ["| recipe | hours in training steps | clock | held-out PSNR (trainer's held-out set) | above the floor |", "| --- | --- | --- | --- | --- |"]
for recipe, points in curves.items():
    if points:
        hours, psnr = points[-1]
        above = f"{psnr - floor:+.2f} dB" if floor else "-"
        lines.append(f"| {recipe} | {hours:.2f} | {clocks[recipe]} | {psnr:.2f} dB | {above} |")
(folder / "curves.md").write_text("\n".join(lines) + "\n" + (f"\nblock-mean floor on the same clips: {floor:.2f} dB\n" if floor else ""))
print("\n".join(lines))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: table only (pip install matplotlib for the plot)")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(7, 4.5))
for recipe, points in curves.items():
    if points:
        ax.plot([h for h, _ in points], [p for _, p in points], marker="o", label=recipe)
if floor:
    ax.axhline(floor, color="grey", linestyle="--", label="block-mean floor (same bits)")
ax.set_xlabel("hours in training steps, " + ("process CPU time" if cpu else "wall-clock") + " (2 cores)")
ax.set_ylabel("held-out PSNR (dB)")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(folder / "curves.png", dpi=120)
print(f"wrote {folder / 'curves.png'}")
