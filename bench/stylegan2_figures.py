"""The StyleGAN2 figures of docs/stylegan2.md from one exported generator (a run directory or .safetensors).

    python bench/stylegan2_figures.py GENERATOR [--out assets] [--scale 2]

Writes into --out:
- stylegan2_mixing.png: `facegan mix`'s figure (row seeds 1-3 into column seeds 4-8; coarse,
  middle and fine layers);
- stylegan2_truncation.png: rows of seeds 10-15, columns truncation psi 1, 0.8, ..., 0 (the last
  column is the average face, the same in every row);
- stylegan2_interpolation.png: seed 0 -> 1 in z (slerp, top) and in W (lerp, bottom), 10 steps.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import lib  # noqa: F401  (first: this checkout's facegan)
import torch

from facegan.editing.mixing import mixing_figure
from facegan.fileio import atomic_path, export_path
from facegan.interop.export import load_generator
from facegan.latent import interpolate, interpolate_w, sample
from facegan.viz import save_grid

PSIS = [1.0, 0.8, 0.6, 0.4, 0.2, 0.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator")
    parser.add_argument("--out", default="assets")
    parser.add_argument("--scale", type=int, default=2, help="pixel repeat for the 64 px faces")
    args = parser.parse_args()
    out = Path(args.out)
    G = load_generator(export_path(args.generator), torch.device("cpu"))

    with atomic_path(out / "stylegan2_mixing.png") as tmp:
        mixing_figure(G, [1, 2, 3], [4, 5, 6, 7, 8], ["coarse", "middle", "fine"], scale=args.scale).save(tmp, "PNG")
    seeds = range(10, 16)
    rows = [torch.cat([sample(G, 1, seed, truncation=psi) for psi in PSIS]) for seed in seeds]
    save_grid(torch.cat(rows), out / "stylegan2_truncation.png", nrow=len(PSIS), scale=args.scale)
    save_grid(torch.cat([interpolate(G, 0, 1, 10), interpolate_w(G, 0, 1, 10)]),
              out / "stylegan2_interpolation.png", nrow=10, scale=args.scale)
    print(f"wrote stylegan2_mixing.png, stylegan2_truncation.png (psi {PSIS}), stylegan2_interpolation.png to {out}/")


if __name__ == "__main__":
    main()
