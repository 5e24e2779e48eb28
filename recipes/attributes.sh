#!/usr/bin/env bash
# Recipe of models/attributes.safetensors (card: models/attributes.md), the shipped attribute classifier (the
# edit directions of both generators are fitted with it: run this before recipes/stylegan64.sh and
# recipes/celeba64.sh if it changes). Three `facegan attributes train` runs, each printing its held-out report:
#   1-2. two teachers on the labelled faces (weight seeds 0 and 1, the same held-out people);
#   3.   the shipped student: the labelled faces plus the unlabelled ones (less every photo of a held-out
#        person, by the manifest's identities) with the teachers' mean probabilities as soft labels, and
#        a hint: it also learns to predict dlib's face embedding of each face (models/attributes.md says
#        why). The embeddings come from recipes/dlib_hints.py, which needs the optional bench
#        dependencies (pip install -r bench/requirements-edit.txt) and ~25 min the first time (cached).
# The experiments that chose this recipe (not shipped themselves) are in bench/research/ (its README.md).
# Data: the project's shared CelebA data (never committed; `facegan download` does not fetch it), from
#   ../shared/data unless named: faces64_attrs.tar + faces64_attrs.csv (the 4,358 labelled faces, 15% of the
#   identities held out, split seed 0), faces64_train.tar + faces64_train_manifest.csv (the 12,000 unlabelled
#   training faces and their identities), extracted into the work dir on first use.
# Time: about 20 min on 2 CPU cores of an AMD EPYC VM (CPU-2b in bench/RESULTS.md),
#   2026-11-27, plus ~25 min the first time for dlib's embeddings.
# Run it from the repository root (it writes models/attributes.safetensors unless told otherwise):
#   [EPOCHS=40] [STUDENT_EPOCHS=16] [WIDTH=32] bash recipes/attributes.sh [faces64_attrs.tar] [labels csv]
#       [faces64_train.tar] [manifest csv] [work dir] [out file]
set -euo pipefail
source "$(dirname "$0")/../bench/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
attrs_tar=${1:-../shared/data/faces64_attrs.tar}
labels=${2:-../shared/data/faces64_attrs.csv}
unlabelled_tar=${3:-../shared/data/faces64_train.tar}
manifest=${4:-../shared/data/faces64_train_manifest.csv}
work=${5:-/tmp/facegan-attrs}
out=${6:-models/attributes.safetensors}
mkdir -p "$work/labelled" "$work/unlabelled"
[ -d "$work/labelled/faces64_attrs" ] || tar -xf "$attrs_tar" -C "$work/labelled"
[ -d "$work/unlabelled/faces64" ] || tar -xf "$unlabelled_tar" -C "$work/unlabelled"
echo "labelled: $(ls "$work/labelled/faces64_attrs" | wc -l), unlabelled: $(ls "$work/unlabelled/faces64" | wc -l)"
common=(--data "$work/labelled" --attrs "$labels" --width "${WIDTH:-32}" --split-seed 0)
start=$(date +%s)
for seed in 0 1; do
    echo "== teacher, seed $seed"
    facegan attributes train "${common[@]}" --seed "$seed" --epochs "${EPOCHS:-40}" \
        --out "$work/teacher-seed$seed.safetensors" | tail -45
done
echo "== dlib embeddings of every face (the student's hint)"
python "$(dirname "$0")/dlib_hints.py" --data "$work/labelled" --attrs "$labels" \
    --unlabelled "$work/unlabelled/faces64" --work "$work" --out "$work/dlib_hints.csv"
echo "== student (distilled from both teachers on the unlabelled faces, hinted by dlib's embedding)"
facegan attributes train "${common[@]}" --seed 2 --epochs "${STUDENT_EPOCHS:-16}" \
    --unlabelled "$work/unlabelled" --unlabelled-ids "$manifest" \
    --teacher "$work/teacher-seed0.safetensors" --teacher "$work/teacher-seed1.safetensors" \
    --hint "$work/dlib_hints.csv" --out "$out" | tail -48
echo "wall time: $(( $(date +%s) - start )) s"
