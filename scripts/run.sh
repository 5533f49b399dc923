#!/usr/bin/env bash
# The main command: sets up (idempotent), builds the tool in release mode and runs its default job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product magvit
.build/release/magvit "$@"
