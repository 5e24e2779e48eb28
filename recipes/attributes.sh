#!/usr/bin/env bash
# The shipped attribute classifier, from the project's shared data (never committed): the 4,358 labelled
# real CelebA faces, 15% of the identities held out (split seed 0), and the 12,000 unlabelled training
# faces. Three `facegan attributes train` runs, each printing its held-out report:
#   1-2. two teachers on the labelled faces (weight seeds 0 and 1, the same held-out people);
#   3.   the shipped student: the labelled faces plus the unlabelled ones (less every photo of a held-out
#        person, by the manifest's identities) with the teachers' mean probabilities as soft labels, and
#        a hint: it also learns to predict dlib's face embedding of each face (models/attributes.md says
#        why). The embeddings come from bench/dlib_hints.py, which needs the optional bench
#        dependencies (pip install -r bench/requirements-edit.txt) and ~25 min the first time (cached).
# The experiments that chose this recipe (not shipped themselves) are in bench/research/ (its README.md).
#   [EPOCHS=40] [STUDENT_EPOCHS=16] [WIDTH=32] bash bench/attributes_real.sh [faces64_attrs.tar] [labels csv]
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
