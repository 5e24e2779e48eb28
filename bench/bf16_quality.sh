#!/usr/bin/env bash
# Is bf16 training sound? The quick preset for 4 epochs in bf16 (seeds 0, 1) and in fp32 (seeds 0, 1, 2),
# each scored with `facegan eval` (SWD, MS-SSIM on 2,048 samples), and the two seed-0 grids side by
# side. On a CPU without native bf16 the bf16 runs are emulated: about 25 minutes each on 2 cores.
#   bash bench/bf16_quality.sh [work dir] [figure]      # runs already in the work dir are reused
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=${1:-bench/_work/bf16}
figure=${2:-}
mkdir -p "$work"
run() {  # name, then extra train flags
    local name=$1; shift
    ls -d "$work"/runs/*-"$name" >/dev/null 2>&1 && return
    # the quick preset as it was when these figures were measured (2026-11-25): synthetic faces, transposed
    # convolutions, no EMA, no DiffAugment, no time limit
    facegan train --preset quick --epochs 4 --data synthetic --upsample transpose --ema-kimg 0 --augment "" \
        --minutes 0 --runs-dir "$work/runs" --name "$name" --no-progress "$@" | tail -1
    facegan eval --generator "$(ls -d "$work"/runs/*-"$name")/generator.safetensors" --n 2048 --data synthetic >/dev/null
}
run bf16 --precision bf16
run bf16-seed1 --precision bf16 --seed 1
run fp32 --precision fp32
run fp32-seed1 --precision fp32 --seed 1
run fp32-seed2 --precision fp32 --seed 2
python3 - "$work" "$figure" <<'PY'
import json, sys
from pathlib import Path
from PIL import Image
work, figure = Path(sys.argv[1]), sys.argv[2]
print("| run (4 epochs, quick preset) | SWD avg x1e3 | SWD 16 | MS-SSIM fakes | MS-SSIM real |")
print("|---|---|---|---|---|")
for name in ("bf16", "bf16-seed1", "fp32", "fp32-seed1", "fp32-seed2"):
    run = next((work / "runs").glob(f"*-{name}"))
    m = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    print(f"| {name} | {m['swd_avg']:.1f} | {m['swd16']:.1f} | {m['msssim']:.3f} | {m['msssim_real']:.3f} |")
if figure:
    a, b = (Image.open(next((work / "runs").glob(f"*-{n}")) / "samples" / "epoch_004.png") for n in ("bf16", "fp32"))
    both = Image.new("RGB", (a.width + b.width + 12, a.height), "white")
    both.paste(a, (0, 0)), both.paste(b, (a.width + 12, 0))
    both.save(figure)
    print(f"wrote {figure}: bf16 left, fp32 right (seed 0, epoch 4)")
PY
