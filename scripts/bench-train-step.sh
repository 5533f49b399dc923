#!/usr/bin/env bash
# The training-step benchmark of docs/speed.md on this machine: ours against Open-MAGVIT2 (same
# weights) and magvit2-pytorch (matched video layout), for each loss set, alternating the sides.
# Needs .deps/bench-venv (scripts/bench-venv.sh). About 25 minutes on 2 cores; one heavy job at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bench-venv.sh >/dev/null
swift build -c release --product magvit-bench >/dev/null
bench=.build/release/magvit-bench
for losses in network reconstruction full; do
  $bench train-step --peer open-magvit2 --small --batch 2 --losses $losses "$@"
done
$bench train-step --peer open-magvit2 --batch 1 --losses network --rounds 2 --iterations 2 "$@"
$bench train-step --peer open-magvit2 --batch 1 --losses full --rounds 2 --iterations 2 "$@"
for losses in reconstruction full; do
  $bench train-step --peer magvit2-pytorch --batch 1 --losses $losses "$@"
done
