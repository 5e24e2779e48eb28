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
