#!/usr/bin/env bash
# Recipe of models/stylegan64.safetensors and its edit directions, models/stylegan64.directions.safetensors
# (card: models/stylegan64.md): the default generator (the app's, the face-editing notebook's, the CLI's
# default --generator), in two stages on the 43,715 training faces, scored against the 1,000 held-out faces
# at each mark (the clock stops while it scores):
#   1. the stylegan-cpu-long preset (stylegan-cpu + torch.compile + adaptive augmentation), 90 minutes on 2 CPU
#      cores (issue 27; shipped as models/stylegan64.safetensors until commit 2132417);
#   2. that generator fine-tuned against the projected discriminator (frozen pretrained EfficientNet-Lite0
#      features; issue 38) for 5,935 steps of 32 images, hinge loss, DiffAugment translation + cutout, lr
#      0.001 (G) / 0.002 (D);
# then exported as fp16 with its figures (recipes/ship_generator.py), its edit directions fitted in W with the
# shipped classifier, and the README's and docs' figures of it drawn again (bench's figure scripts). Both
# stages train through bench/time_to_quality.py's copy of the trainer's steps.
# Data: the project's shared CelebA faces (never committed; `facegan download` does not fetch them):
#   $DATA/faces64_train.tar and $DATA/faces64_more.tar (DATA defaults to ../shared/data), extracted into the
#   work dir on first use (bench/lib.sh's real_faces: holdout/ the first 1,000 of faces64_train.tar by file
#   name, train45/ the other 11,000 plus faces64_more.tar's 32,715); stage 1's file from git (below); the
#   directions read models/attributes.safetensors (recipes/attributes.sh).
# Time: stage 1, 90 minutes (8,014 steps of 32), 2026-12-03, on 2 CPU cores of an AMD EPYC VM (AVX2, fp32;
#   CPU-2a in bench/RESULTS.md); stage 2, 75 minutes (5,935 steps), 2026-12-07, on one core of a shared 2-core
#   Intel Xeon VM with native bf16 (CPU-2c), 67 minutes at stage 1's 2-core pace: about 157 minutes of
#   training in all; the scoring at the marks, the export, the directions and the figures were not timed.
# Run it from the repository root (it writes models/stylegan64.* and the figures in assets/):
#   [DATA=../shared/data] bash recipes/stylegan64.sh [work dir, default /tmp/facegan-real] [STAGE1 [EXPORT]]
# STAGE1: stage 1's generator (default: the file shipped at commit 2132417, from git, which stage 2 of the
# shipped model started from; "train" runs stage 1's 90 minutes again). EXPORT: a generator stage 2 already
# wrote (only the shipping steps run). The same steps give the same weights on a CPU of the same kind
# (--precision auto: bf16 where the CPU has it natively, as CPU-2c did; fp32 elsewhere, and other weights).
set -euo pipefail
source "$(dirname "$0")/../bench/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=${1:-/tmp/facegan-real}
stage1=${2:-}
export_file=${3:-}
real_faces "$work" "${DATA:-../shared/data}/faces64_train.tar"  # bench/lib.sh: train45/ (43,715), holdout/ (1,000)
[ -d "$work/train45" ] || { echo "no $work/train45: faces64_more.tar must lie beside faces64_train.tar"; exit 2; }
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
