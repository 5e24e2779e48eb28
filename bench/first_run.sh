#!/usr/bin/env bash
# Issue 40's figures: the default `facegan train` of a fresh clone (built-in faces) on this machine idle, on one
# core, and beside a process that keeps one core busy: plan against actual time, steps, img/s, SWD against 1,000
# held-out built-in faces, and each run's last grid in assets/first_run_*.png (bench/first_run.py). Run nothing else.
#   bash bench/first_run.sh [RESULTS_SUFFIX] [CONDITIONS]   (default cpu2c; idle one-core busy)
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
suffix=${1:-cpu2c}
for condition in ${2:-idle one-core busy}; do
    python bench/first_run.py --condition "$condition" --json "bench/results/first_run_$suffix.jsonl" \
        --grid "assets/first_run_$condition.png"
done
