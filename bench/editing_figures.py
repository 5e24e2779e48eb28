"""The editing figures of docs/editing.md and the README from one generator and its directions (default: the shipped ones).

    python bench/editing_figures.py [--generator models/stylegan64.safetensors] [--out assets]

Writes into --out:
- edit_strips.png: age, gender, smile and glasses from -3 to +3 std (columns) for seeds 1-4 (rows);
- edit_conditional.png: age, plain and keeping gender, and smile, plain and keeping gender, for seeds 1-4;
- edit_interpolation.gif: seed 1 -> 2 (z slerp for a DCGAN, W lerp for a StyleGAN2), there and back.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import lib  # noqa: F401  (first: this checkout's facegan)
import torch

from facegan.editing.directions import directions_path, load_directions, strip_codes
from facegan.fileio import DEFAULT_GENERATOR, atomic_path, export_path, shipped_model
from facegan.interop.export import load_generator
from facegan.latent import codes_for_seeds, interpolate, interpolate_w, latent_space, render
from facegan.viz import labelled_grid, save_gif

STRENGTHS = torch.linspace(-3, 3, 7)


def strips(G, directions, seeds, name, conditions=()) -> torch.Tensor:
    codes = codes_for_seeds(G, seeds)
    return render(G, torch.cat([strip_codes(code, directions, name, STRENGTHS, list(conditions)) for code in codes]))


def save(figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.save(tmp, format="PNG")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default=str(shipped_model(DEFAULT_GENERATOR)))
    parser.add_argument("--directions", help="default: beside the generator")
    parser.add_argument("--seeds", default="1,2,3,4")
    parser.add_argument("--out", type=Path, default=Path("assets"))
    parser.add_argument("--scale", type=int, default=2)
    args = parser.parse_args()
    generator = export_path(args.generator)
    G = load_generator(generator)
    directions = load_directions(args.directions or directions_path(generator), G)
    seeds = [int(s) for s in args.seeds.split(",")]

    faces, labels = [], []
    for name in ("age", "gender", "smile", "glasses"):
        faces.append(strips(G, directions, seeds, name))
        labels += [name] + [""] * (len(seeds) - 1)
    save(labelled_grid(torch.cat(faces), len(STRENGTHS), labels, args.scale, label_width=96), args.out / "edit_strips.png")

    faces, labels = [], []
    for name, kept in (("age", "gender"), ("smile", "gender")):
        for conditions in ((), (kept,)):
            faces.append(strips(G, directions, seeds, name, conditions))
            labels += [f"{name}, keeping {kept}" if conditions else f"{name}, plain"] + [""] * (len(seeds) - 1)
    save(labelled_grid(torch.cat(faces), len(STRENGTHS), labels, args.scale, label_width=130),
         args.out / "edit_conditional.png")

    path = (interpolate(G, seeds[0], seeds[1], 24) if latent_space(G) == "z"
            else interpolate_w(G, seeds[0], seeds[1], 24))
    save_gif(path, args.out / "edit_interpolation.gif", seconds=4, scale=args.scale)
    print(f"wrote {args.out / 'edit_interpolation.gif'}")


if __name__ == "__main__":
    main()
