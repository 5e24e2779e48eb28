#!/usr/bin/env bash
# The CPU quick preset end to end, from a cold cache (the synthetic faces are rendered inside the
# timing), as a user's first `facegan train` on a CPU-only machine. Prints the wall time.
# With a folder argument it also writes docs/dcgan.md's figures there:
#   bash bench/quick_preset.sh            # time only
#   bash bench/quick_preset.sh assets     # time, then assets/quick_*.png and assets/synthetic_faces.png
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
out=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s.%N)
FACEGAN_CACHE="$work/cache" facegan train --preset quick --runs-dir "$work/runs" --no-progress | tail -3
end=$(date +%s.%N)
python3 -c "print(f'wall time: {$end - $start:.0f} s (python $(python3 -c 'import platform; print(platform.python_version())'), $(nproc) cores)')"

if [ -n "$out" ]; then
    run="$work/runs/001-quick"
    mkdir -p "$out"
    last=$(ls "$run"/samples/epoch_*.png | tail -1)
    cp "$last" "$out/quick_grid.png"
    cp "$run/losses.png" "$out/quick_losses.png"
    facegan interpolate --generator "$run/generator.safetensors" --seed-a 3 --seed-b 11 --steps 10 \
        --out "$out/quick_interpolation.png"
    FACEGAN_CACHE="$work/cache" python3 -c "
from facegan.data.images import load_faces
from facegan.data.images import to_unit_range
from facegan.viz import save_grid
save_grid(to_unit_range(load_faces('synthetic', progress=False).images[:32]), '$out/synthetic_faces.png', nrow=8, scale=2)"
    echo "figures written to $out/ (grid from $(basename "$last"))"
fi
