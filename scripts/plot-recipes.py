"""Quality per CPU-hour (issue 31): each recipe's held-out PSNR against training CPU time, from the
trainer's own evaluations (log.jsonl records of kind "eval"/"final_eval": psnr, floor_psnr,
training_seconds), with the block-mean floor at the same bits as a line for each held-out set; a two-stage recipe
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
curves, floors, clocks = {}, {}, {}
for recipe in args[1:]:
    offset = stage_seconds(folder / "image-first-images") if recipe == "image-first" and (folder / "image-first-images").exists() else 0
    rows = evals(folder / recipe)
    key = clock(rows)
    clocks[recipe] = "CPU" if key == "cpu_seconds" else "wall"
    curves[recipe] = [((r[key] + offset) / 3600, r["psnr"]) for r in rows]
    # Each recipe's own floor: the image stages and the peer score held-out frames, the video
    # recipes held-out clips, so their floors differ.
    floors[recipe] = next((r["floor_psnr"] for r in reversed(rows) if "floor_psnr" in r), None)

lines = ["| recipe | hours in training steps | clock | held-out PSNR (trainer's held-out set) | floor on the same set | above the floor |",
         "| --- | --- | --- | --- | --- | --- |"]
for recipe, points in curves.items():
    if points:
        hours, psnr = points[-1]
        floor = floors[recipe]
        lines.append(f"| {recipe} | {hours:.2f} | {clocks[recipe]} | {psnr:.2f} dB | "
                     + (f"{floor:.2f} dB | {psnr - floor:+.2f} dB |" if floor else "- | - |"))
(folder / "curves.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: table only (scripts/plot-packages.sh installs it into .deps/plot; run with PYTHONPATH=.deps/plot)")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(7, 4.5))
for recipe, points in curves.items():
    if points:
        wall = " (wall-clock: logged before cpu_seconds)" if cpu and clocks[recipe] == "wall" else ""
        ax.plot([h for h, _ in points], [p for _, p in points], marker="o", label=recipe + wall)
held_out = {}  # a floor line for each held-out set: the recipes scored on it
for recipe, floor in floors.items():
    if floor and curves[recipe]:
        held_out.setdefault(round(floor, 2), []).append(recipe)
for (floor, recipes), style in zip(sorted(held_out.items()), ["--", ":", "-.", (0, (5, 5))]):
    ax.axhline(floor, color="grey", linestyle=style, label=f"block-mean floor, same bits ({', '.join(recipes)})")
ax.set_xlabel("hours in training steps, " + ("process CPU time" if cpu else "wall-clock") + " (2 cores)")
ax.set_ylabel("held-out PSNR (dB)")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=7)  # below the axes: curves start low
ax.grid(alpha=0.3)
fig.savefig(folder / "curves.png", dpi=120, bbox_inches="tight")
print(f"wrote {folder / 'curves.png'}")
