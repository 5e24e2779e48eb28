#!/usr/bin/env bash
# The default generator shipped in models/ (the face-editing notebook's and the app's): the quick DCGAN
# preset trained 7.5 minutes (its best point in bench/time_to_quality.py's 30-minute curve) on the
# 11,000 real training faces of bench/real_faces.sh, scored against the 1,000 held out, exported as
# fp16, and its edit directions fitted with the shipped attribute classifier.
#   bash bench/ship_celeba64.sh [work dir with train/ and holdout/ from bench/real_faces.sh]
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
work=${1:-/tmp/facegan-real}
[ -d "$work/train" ] || { echo "run bench/real_faces.sh first (it extracts the faces into $work)"; exit 2; }
rm -rf "$work/ship"
facegan train --preset quick --data "$work/train" --minutes 7.5 --runs-dir "$work/ship" --name celeba64 --no-progress | tail -1
run="$work/ship/001-celeba64"
facegan eval --generator "$run" --data "$work/holdout" --n 1000 --metrics swd,msssim
python - "$run/generator.safetensors" models/celeba64.safetensors <<'PY'
import json, sys
from pathlib import Path
from facegan.interop.export import export_config, export_generator, load_generator
run = Path(sys.argv[1]).parent
metrics = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])  # the eval above, for the app's card
metrics["data"] = "1,000 held-out real CelebA faces"
export_generator(load_generator(sys.argv[1]), sys.argv[2], export_config(sys.argv[1]), half=True, metrics=metrics)
print(f"wrote {sys.argv[2]} (fp16)")
PY
facegan directions --generator models/celeba64.safetensors
python bench/editing_figures.py --generator models/celeba64.safetensors --out assets
