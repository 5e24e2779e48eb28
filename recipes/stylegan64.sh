#!/usr/bin/env bash
# The default generator shipped in models/ (the app's, the face-editing notebook's, the CLI's default
# --generator), in two stages on the 43,715 training faces of bench/real_faces.sh (train45: faces64_train.tar
# less the 1,000 held out, plus faces64_more.tar), scored against the 1,000 held-out faces at each mark (the
# clock stops while it scores):
#   1. the stylegan-cpu-long preset (stylegan-cpu + torch.compile + adaptive augmentation), 90 minutes on 2 CPU
#      cores (issue 27; shipped as models/stylegan64.safetensors until commit 2132417);
#   2. that generator fine-tuned against the projected discriminator (frozen pretrained EfficientNet-Lite0
#      features; issue 38) for 5,935 steps of 32 images, hinge loss, DiffAugment translation + cutout, lr
#      0.001 (G) / 0.002 (D);
# then exported as fp16 with its figures, and its edit directions fitted in W with the shipped classifier.
#   bash bench/ship_stylegan64.sh [work dir with train45/ and holdout/ from bench/real_faces.sh] [STAGE1 [EXPORT]]
# STAGE1: stage 1's generator (default: the file shipped at commit 2132417, from git, which stage 2 of the
# shipped model started from; "train" runs stage 1's 90 minutes again). EXPORT: a generator stage 2 already
# wrote (only the shipping steps run). The same steps give the same weights on a CPU of the same kind
# (--precision auto: bf16 where the CPU has it natively, as CPU-2c did; fp32 elsewhere, and other weights).
set -euo pipefail
source "$(dirname "$0")/../bench/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=${1:-/tmp/facegan-real}
stage1=${2:-}
export_file=${3:-}
[ -d "$work/train45" ] || { echo "run bench/real_faces.sh first (it extracts the 43,715 faces into $work/train45)"; exit 2; }
if [ -z "$stage1" ]; then
    stage1="$work/stylegan64-stage1.safetensors"
    git -C "$BENCH_ROOT" show 2132417:models/stylegan64.safetensors > "$stage1"
elif [ "$stage1" = train ]; then
    python bench/time_to_quality.py --train "$work/train45" --holdout "$work/holdout" --minutes 90 \
        --marks 10,20,30,45,60,75,90 --config "stylegan-cpu-ada=preset=stylegan-cpu-long" --grids "$work/ship-sg/grids" \
        --export "$work/ship-sg/export" --json bench/results/stylegan64_ship_cpu2a.jsonl
    stage1="$work/ship-sg/export/stylegan-cpu-ada.safetensors"
fi
if [ -z "$export_file" ]; then
    python bench/time_to_quality.py --train "$work/train45" --holdout "$work/holdout" --steps 5935 \
        --marks 1000,2000,3000,4000,5000,5935 --config "ft-proj=preset=stylegan-cpu,init_generator=$stage1,disc=projected,\
loss=hinge,r1_gamma=0,augment=translation,cutout,lr_g=0.001,lr_d=0.002" --grids "$work/ship-ft/grids" \
        --export "$work/ship-ft/export" --json "$work/ship-ft/points.jsonl"
    export_file="$work/ship-ft/export/ft-proj.safetensors"
fi
python recipes/ship_generator.py "$export_file" models/stylegan64.safetensors --holdout "$work/holdout" \
    --data "43,715 real CelebA faces (faces64_train.tar less the 1,000 held out, plus faces64_more.tar)" \
    --init "models/stylegan64.safetensors as of commit 2132417 (90 minutes of stylegan-cpu-long)"
facegan directions --generator models/stylegan64.safetensors
facegan sample --n 64 --seed 0 --out assets/stylegan64_faces.png
python bench/editing_figures.py --generator models/stylegan64.safetensors --out assets
python bench/stylegan2_figures.py models/stylegan64.safetensors
