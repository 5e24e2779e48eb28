#!/usr/bin/env bash
# The default generator shipped in models/ (the app's, the face-editing notebook's, the CLI's default
# --generator): the stylegan-cpu-long preset (stylegan-cpu + torch.compile + adaptive augmentation), 90 minutes
# on 2 CPU cores on the 43,715 training faces of bench/real_faces.sh (train45: faces64_train.tar less the
# 1,000 held out, plus faces64_more.tar), scored against the 1,000 held-out faces at each mark (the clock
# stops while it scores), exported as fp16 with its figures, and its edit directions fitted in W with the
# shipped attribute classifier.
#   bash bench/ship_stylegan64.sh [work dir with train45/ and holdout/ from bench/real_faces.sh] [EXPORT]
# With EXPORT (a generator the same training already wrote, e.g. a --export of an earlier session's
# run) the 90 minutes are skipped and only the shipping steps run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=${1:-/tmp/facegan-real}
export_file=${2:-}
[ -d "$work/train45" ] || { echo "run bench/real_faces.sh first (it extracts the 43,715 faces into $work/train45)"; exit 2; }
config="stylegan-cpu-ada=preset=stylegan-cpu-long"  # the recipe lives in the preset (facegan/config.py)
if [ -z "$export_file" ]; then
    python bench/time_to_quality.py --train "$work/train45" --holdout "$work/holdout" --minutes 90 \
        --marks 10,20,30,45,60,75,90 --config "$config" --grids "$work/ship-sg/grids" --export "$work/ship-sg/export" \
        --json bench/results/stylegan64_ship_cpu2a.jsonl
    export_file="$work/ship-sg/export/stylegan-cpu-ada.safetensors"
fi
python bench/ship_generator.py "$export_file" models/stylegan64.safetensors --holdout "$work/holdout" \
    --data "43,715 real CelebA faces (faces64_train.tar less the 1,000 held out, plus faces64_more.tar)"
facegan directions --generator models/stylegan64.safetensors
python bench/editing_figures.py --generator models/stylegan64.safetensors --out assets
python bench/stylegan2_figures.py models/stylegan64.safetensors
