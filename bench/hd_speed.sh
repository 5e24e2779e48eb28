#!/usr/bin/env bash
# Issue 39's figures on this machine, with nothing else running: StyleGAN3 T and R at 256 and 1024 px and
# StyleGAN2 at 1024 px (NVIDIA's released shapes, random weights, fp32, batch 1), the reference path and the
# fast path side by side in one run, per-layer time and memory included; then what a slider change costs in
# the app with a 1024 and a 256 px StyleGAN3 (one edited face and one blend step, each with its PNG).
#   bash bench/hd_speed.sh [RESULTS_SUFFIX]     (default cpu2c: bench/results/*_cpu2c.jsonl)
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
suffix=${1:-cpu2c}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python bench/stylegan3_speed.py --layers --repeats 1 --warmup 1 --json "bench/results/stylegan3_speed_$suffix.jsonl"
for config in T-1024 T-256; do
    python bench/stylegan3_speed.py --write-export "$config" "$work/$config.safetensors"
    python bench/app_latency.py --model "$work/$config.safetensors" --cases "blend step" --repeats 2 \
        --threads 1,2 --out "bench/results/app_latency_hd_$suffix.jsonl"
done
# memory that does not grow with --n: the peak resident memory of `facegan sample` for 1 and for 3 faces at
# 1024 px (one face per chunk there: facegan.latent.PIXELS_PER_BATCH; at 256 px a chunk holds 16)
for n in 1 3; do
    /usr/bin/time -f "sample --n $n (T-1024): %e s, peak RSS %M KB" "$BENCH_PYTHON" -m facegan sample \
        --generator "$work/T-1024.safetensors" --n "$n" --separate "$work/faces$n" 2>&1 | tail -1
done
