#!/usr/bin/env bash
# `facegan eval` wall time on 10,000 samples (target: under 2 minutes on 2 CPU cores), for a
# paper-width (1.0) generator, the costliest to sample. Uses the built-in synthetic faces as the real set.
#   bash bench/eval_speed.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -c "
import torch
from facegan.interop.export import export_generator
from facegan.models.dcgan import Generator
torch.manual_seed(0)
export_generator(Generator(256, 1.0), '$work/generator.safetensors', {'data': 'synthetic'})"
# First run: cold (renders the 10,000 real faces and computes the cached real MS-SSIM reference);
# second run: what every later evaluation against the same data costs.
for run in cold warm; do
    start=$(date +%s.%N)
    FACEGAN_CACHE="$work/cache" facegan eval --generator "$work/generator.safetensors" --n 10000 --device cpu
    end=$(date +%s.%N)
    python3 -c "print(f'facegan eval --n 10000 ($run cache): {$end - $start:.0f} s wall')"
done
