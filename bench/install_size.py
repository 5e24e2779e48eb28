"""What the README's install puts on disk: the environment's size and its largest packages (the README quotes it).

    python bench/install_size.py [--json FILE.jsonl]

Sizes (GB, 1e9 bytes) of the running interpreter's environment (sys.prefix) and, in its site-packages, of the
NVIDIA CUDA libraries (nvidia/ and cuda/), triton and torch, as `du` counts them (allocated blocks).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
from pathlib import Path

import lib  # first: this checkout's facegan


def size_gb(*paths: Path) -> float:
    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        return 0.0
    out = subprocess.run(["du", "-s", "--block-size=1", "-c", *existing], capture_output=True, text=True, check=True)
    return round(int(out.stdout.strip().splitlines()[-1].split()[0]) / 1e9, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="append the result here (with lib.record's provenance)")
    args = parser.parse_args()
    site = Path(sysconfig.get_paths()["purelib"])
    result = {"bench": "install_size", "environment": sys.prefix, "environment_GB": size_gb(Path(sys.prefix)),
              "cuda_libraries_GB": size_gb(site / "nvidia", site / "cuda"),
              "triton_GB": size_gb(site / "triton"), "torch_GB": size_gb(site / "torch")}
    print(result)
    if args.json:
        lib.record(args.json, result)


if __name__ == "__main__":
    main()
