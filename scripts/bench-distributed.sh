#!/usr/bin/env bash
# Data-parallel throughput on this machine: one process (1 thread and all threads) against N ranks
# of 1 thread each through `magvit launch` (c10d Gloo), alternating the sides and repeating.
#   scripts/bench-distributed.sh [RANKS] [REPEATS]     (needs: swift build -c release --product magvit)
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=${1:-2}; repeats=${2:-2}
bin=.build/release/magvit
[ -x "$bin" ] || { echo "build first: swift build -c release --product magvit" >&2; exit 1; }
config=benchmarks/distributed.yaml
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
rate() { grep -o '[0-9.]* steps/s' | tail -1 | cut -d' ' -f1; }
for r in $(seq "$repeats"); do
  one=$("$bin" train $config -o "$out/one-$r" --threads 1 2>/dev/null | rate)
  all=$("$bin" train $config -o "$out/all-$r" --threads "$ranks" 2>/dev/null | rate)
  many=$("$bin" launch --nproc "$ranks" -- train $config -o "$out/many-$r" --threads 1 2>/dev/null | rate)
  awk -v a="$one" -v b="$all" -v c="$many" -v n="$ranks" 'BEGIN {
    printf "1 rank x 1 thread %.2f steps/s | 1 rank x %d threads %.2f | %d ranks x 1 thread %.2f (scaling efficiency %.0f%%, %.2fx the threaded process)\n",
      a, n, b, n, c, 100 * c / (n * a), c / b }'
done
