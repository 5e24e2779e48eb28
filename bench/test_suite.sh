#!/usr/bin/env bash
# The README's test command (tests/install.sh, then the whole suite), on this machine idle or beside a process
# that keeps one core busy. Record it with its wall time:
#   python bench/lib.py record bench/results/test_suite_cpu2c.jsonl -- bash bench/test_suite.sh idle|busy
set -euo pipefail
condition=${1:?usage: bash bench/test_suite.sh idle|busy}
case $condition in
    idle) ;;
    busy) python3 -c "while True: pass" & burner=$!; trap 'kill $burner' EXIT ;;
    *) echo "bench/test_suite.sh: the condition is idle or busy (got $condition)" >&2; exit 2 ;;
esac
bash tests/install.sh && python -m pytest
