#!/usr/bin/env bash
# The small DCGAN shipped in models/ beside the default StyleGAN2 (bench/ship_stylegan64.sh): the quick DCGAN
# preset trained 7.5 minutes (its best point in bench/time_to_quality.py's 30-minute curve) on the
# 11,000 real training faces of bench/real_faces.sh, scored against the 1,000 held out, exported as
# fp16, and its edit directions fitted with the shipped attribute classifier.
#   bash bench/ship_celeba64.sh [work dir with train/ and holdout/ from bench/real_faces.sh]
set -euo pipefail
source "$(dirname "$0")/../bench/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=${1:-/tmp/facegan-real}
[ -d "$work/train" ] || { echo "run bench/real_faces.sh first (it extracts the faces into $work)"; exit 2; }
rm -rf "$work/ship"
facegan train --preset quick --data "$work/train" --minutes 7.5 --runs-dir "$work/ship" --name celeba64 --no-progress | tail -1
run="$work/ship/001-celeba64"
python recipes/ship_generator.py "$run" models/celeba64.safetensors --holdout "$work/holdout" \
    --data "11,000 real CelebA faces (faces64_train.tar less the 1,000 held out)"
facegan directions --generator models/celeba64.safetensors
