#!/usr/bin/env bash
# The shipped attribute classifier: trained on the 4,358 labelled real CelebA faces of the project's
# shared data (never committed), 15% of the identities held out, and its held-out report printed.
#   [EPOCHS=40] [WIDTH=32] bash bench/attributes_real.sh [path/to/faces64_attrs.tar] [labels csv] [work dir] [out file]
set -euo pipefail
tar_file=${1:-../shared/data/faces64_attrs.tar}
labels=${2:-../shared/data/faces64_attrs.csv}
work=${3:-/tmp/facegan-attrs}
out=${4:-models/attributes.safetensors}
mkdir -p "$work"
[ -d "$work/faces64_attrs" ] || tar -xf "$tar_file" -C "$work"
echo "faces: $(ls "$work/faces64_attrs" | wc -l)"
start=$(date +%s)
facegan attributes train --data "$work" --attrs "$labels" --out "$out" --epochs "${EPOCHS:-40}" --width "${WIDTH:-32}"
echo "wall time: $(( $(date +%s) - start )) s"
