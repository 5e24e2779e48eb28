#!/usr/bin/env bash
# Recipe of models/celeba64.safetensors and its edit directions, models/celeba64.directions.safetensors
# (card: models/celeba64.md): the small DCGAN shipped beside the default StyleGAN2 (recipes/stylegan64.sh).
# The quick DCGAN preset trained 7.5 minutes (its best point in bench/time_to_quality.py's 30-minute curve,
# bench/RESULTS.md) on the 11,000 real training faces, scored against the 1,000 held out, exported as fp16
# (recipes/ship_generator.py), and its edit directions fitted with the shipped attribute classifier.
# Data: the project's shared CelebA faces (never committed; `facegan download` does not fetch them):
#   $DATA/faces64_train.tar (DATA defaults to ../shared/data), extracted into the work dir on first use
#   (bench/lib.sh's real_faces: the first 1,000 by file name held out, the other 11,000 trained on); the
#   directions read models/attributes.safetensors (recipes/attributes.sh).
# Time: 7 min 31 s of training (4,184 steps of 64 images), 2026-11-26, on 2 CPU cores of an AMD EPYC VM with
#   native bf16 (CPU-2b in bench/RESULTS.md); the scoring and the directions after it were not timed.
# Run it from the repository root (it writes models/celeba64.*):
#   [DATA=../shared/data] bash recipes/celeba64.sh [work dir, default /tmp/facegan-real]
set -euo pipefail
source "$(dirname "$0")/../bench/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=${1:-/tmp/facegan-real}
real_faces "$work" "${DATA:-../shared/data}/faces64_train.tar"  # bench/lib.sh: train/ (11,000), holdout/ (1,000)
rm -rf "$work/ship"
facegan train --preset quick --data "$work/train" --minutes 7.5 --runs-dir "$work/ship" --name celeba64 --no-progress | tail -1
run="$work/ship/001-celeba64"
python recipes/ship_generator.py "$run" models/celeba64.safetensors --holdout "$work/holdout" \
    --data "11,000 real CelebA faces (faces64_train.tar less the 1,000 held out)"
facegan directions --generator models/celeba64.safetensors
