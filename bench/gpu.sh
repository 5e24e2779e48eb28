#!/usr/bin/env bash
# The speed issue's GPU measurements, for a session that has a CUDA machine (device tool), in stages
# that each fit one 10-minute device call. Run from the repository root:
#   bash bench/gpu.sh data        # 12,000 real faces (shared/data tar) linked up to 32,600 files
#   bash bench/gpu.sh throughput  # bench/throughput.py on cuda: fp32, bf16, + compile, + CUDA graphs
#   bash bench/gpu.sh paper       # paper preset, 50 epochs of 32,600 images, metrics off (the target)
#   bash bench/gpu.sh paper-fast  # the same with --compile --compile-mode reduce-overhead
# The tar is looked for at bench/_work/faces64_train.tar (carry it there: it is 44 MB, git-ignored).
# Results go to $OUT when set (the device tool brings that folder back), else bench/_work/gpu.
# A smoke test of the paper stage on a CPU: DEVICE=cpu EPOCHS=1 EXTRA="--width 0.0625" bash bench/gpu.sh paper
set -euo pipefail
source "$(dirname "$0")/lib.sh"  # this checkout's facegan (not an installed one); see bench/lib.sh
stage=${1:?usage: bash bench/gpu.sh data|throughput|paper|paper-fast}
tar_file=${FACES_TAR:-bench/_work/faces64_train.tar}
data=bench/_work/celeba32600
out=${OUT:-bench/_work/gpu}
mkdir -p "$out"
export PYTHONPATH=$PWD FACEGAN_CACHE=$PWD/bench/_work/cache  # the GPU image has torch and no internet
PY=${PYTHON:-python3}  # on the GPU image python3 is the interpreter that holds torch
"$PY" -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA device')"

make_data() {
    [ -d "$data" ] && [ "$(ls "$data" | wc -l)" -eq 32600 ] && return
    rm -rf "$data" bench/_work/faces64 && mkdir -p "$data"
    tar -xf "$tar_file" -C bench/_work
    mv bench/_work/faces64/*.jpg "$data/" && rmdir bench/_work/faces64
    # 32,600 files, the course subset's size: the real faces once, then links to them in turn
    "$PY" - "$data" <<'END_PYTHON'
import os, sys
from pathlib import Path
folder = Path(sys.argv[1])
faces = sorted(p.name for p in folder.glob("*.jpg"))
for n in range(32600 - len(faces)):
    os.symlink(faces[n % len(faces)], folder / f"dup{n:05d}-{faces[n % len(faces)]}")
END_PYTHON
    echo "data: $(ls "$data" | wc -l) files in $data"
}

case "$stage" in
data) make_data ;;
throughput)
    make_data
    for args in "--precision fp32" "--precision bf16" "--precision bf16 --compile" \
                "--precision bf16 --compile --compile-mode reduce-overhead"; do
        echo "== $args"
        # shellcheck disable=SC2086
        "$PY" bench/throughput.py --device cuda --images "$data" --steps 20 --windows 5 --warmup 10 $args
    done 2>&1 | tee "$out/throughput.txt" ;;
paper|paper-fast)
    make_data
    extra=""
    [ "$stage" = paper-fast ] && extra="--compile --compile-mode reduce-overhead"
    rm -rf "$out/runs-$stage"
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$PY" -m facegan train --preset paper --data "$data" --device "${DEVICE:-cuda}" --metrics-every 0 \
        --epochs "${EPOCHS:-50}" --no-progress --runs-dir "$out/runs-$stage" --name "$stage" $extra ${EXTRA:-} \
        2>&1 | tee "$out/$stage.txt"
    echo "wall time incl. start-up: $(( $(date +%s) - start )) s" | tee -a "$out/$stage.txt"
    cp "$(ls "$out/runs-$stage"/001-"$stage"/samples/epoch_*.png | tail -1)" "$out/$stage-last-grid.png" ;;
*) echo "unknown stage $stage: use data, throughput, paper or paper-fast" >&2; exit 2 ;;
esac
