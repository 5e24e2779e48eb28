#!/usr/bin/env bash
# The quality report on real CelebA faces (shared/data/faces64_train.tar, 12,000 faces; never
# committed): extract outside the repo, hold out the first 1,000 by file name, train the quick preset
# (its 5-minute time limit) on the other 11,000 on this CPU, copy its last grid to assets/, and print
# the SWD / MS-SSIM table against the held-out 1,000.
#   bash bench/real_faces.sh [path/to/faces64_train.tar] [work dir]
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
tar_file=${1:-../shared/data/faces64_train.tar}
work=${2:-/tmp/facegan-real}
real_faces "$work" "$tar_file"  # bench/lib.sh: holdout/ (1,000), train/ (11,000), train45/ (43,715)
echo "train: $(ls "$work/train" | wc -l) faces, holdout: $(ls "$work/holdout" | wc -l) faces"
rm -rf "$work/runs"
start=$(date +%s)
facegan train --preset quick --data "$work/train" --runs-dir "$work/runs" --name real-quick --no-progress | tail -2
echo "training wall time: $(( $(date +%s) - start )) s"
cp "$(ls "$work"/runs/001-real-quick/samples/epoch_*.png | tail -1)" assets/real_quick_grid.png
python bench/quality_report.py --train "$work/train" --holdout "$work/holdout" \
    --generator "quick, CPU=$work/runs/001-real-quick/generator.safetensors"
