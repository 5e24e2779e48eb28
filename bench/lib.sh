# Sourced by the bench's shell scripts (`source "$(dirname "$0")/lib.sh"`): the shell side of bench/lib.py.
# `facegan`, `python` and `python3` then run THIS checkout's package with one interpreter (`python -m
# facegan`, the repository root first on PYTHONPATH), never whichever facegan happens to be installed:
# a bench times the tree it is in. The interpreter is $PYTHON if set, else python3 on the PATH. The check
# prints one line (to stderr) saying which facegan runs, and stops the script if it is not this one.
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_PYTHON=$(command -v "${PYTHON:-python3}") || { echo "bench: no ${PYTHON:-python3} on the PATH" >&2; exit 2; }
export PYTHONPATH="$BENCH_ROOT${PYTHONPATH:+:$PYTHONPATH}"
facegan() { "$BENCH_PYTHON" -m facegan "$@"; }
python() { "$BENCH_PYTHON" "$@"; }
python3() { "$BENCH_PYTHON" "$@"; }
"$BENCH_PYTHON" "$BENCH_ROOT/bench/lib.py" check >&2 || exit 2

# real_faces WORK [faces64_train.tar]: the real-faces protocol's folders (bench/lib.py's REAL_FACES), extracted
# once from the project's shared data (never committed): WORK/holdout, the first 1,000 faces by file name (held
# out for every metric, never trained on), WORK/train, the other 11,000, and, when faces64_more.tar lies beside
# the tar, WORK/train45: those 11,000 plus its 32,715 faces of the same identities (hard links, no copies).
# bench/real_faces.sh and the recipes (recipes/) call it; a folder already there is kept.
real_faces() {
    local work=$1 tar_file=${2:-../shared/data/faces64_train.tar}
    mkdir -p "$work/train" "$work/holdout"
    if [ -z "$(ls -A "$work/train")" ]; then
        [ -f "$tar_file" ] || { echo "no $tar_file: the project's shared CelebA faces (never committed) are needed" >&2; exit 2; }
        tar -xf "$tar_file" -C "$work"
        ls "$work/faces64" | sort | head -1000 | while read -r f; do mv "$work/faces64/$f" "$work/holdout/"; done
        find "$work/faces64" -name '*.jpg' -exec mv -t "$work/train/" {} +
    fi
    local more
    more=$(dirname "$tar_file")/faces64_more.tar
    if [ -f "$more" ] && [ ! -d "$work/train45" ]; then
        tar -xf "$more" -C "$work"
        mkdir -p "$work/train45"
        find "$work/train" -name '*.jpg' -exec cp -l -t "$work/train45/" {} +
        find "$work/faces64_more" -name '*.jpg' -exec cp -l -t "$work/train45/" {} +
    fi
}
