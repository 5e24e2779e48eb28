"""A style generator's faces under each per-pixel noise mode: SWD against held-out faces, and the grids.

    python bench/noise_modes.py GENERATOR --holdout DIR [--grids DIR] [--json FILE]

StyleGAN2 adds per-pixel noise in every synthesis layer. Sampling in eval mode uses "const" (one fixed
noise map per layer, as NVIDIA's code does, so a face is the same every time it is drawn); "random" draws
new noise per face; "none" leaves it out. Early in training a CPU model leans on one noise input for
texture, and with const noise that texture sits at the same place in every face: this measures what each
mode costs or gains, with 1,000 fakes (seed facegan.evaluation's EVAL_SEED) against the --holdout faces.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import lib  # first: this checkout's facegan
import torch

from facegan.data.images import load_faces
from facegan.evaluation.evaluate import evaluate
from facegan.interop.export import load_generator
from facegan.latent import generate, sample_latents, require_style_generator
from facegan.models.contract import GeneratorBase
from facegan.viz import save_grid

MODES = ("const", "random", "none")


class WithNoise(GeneratorBase):
    """G(z) drawn with one noise mode (what evaluate() calls: forward(z), .latent_dim and .resolution)."""

    def __init__(self, generator: GeneratorBase, mode: str):
        super().__init__()
        self.generator, self.mode, self.latent_dim = generator, mode, generator.latent_dim
        self.resolution, self.channels = generator.resolution, generator.channels

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z, noise_mode=self.mode, rng=torch.Generator(z.device).manual_seed(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator")
    parser.add_argument("--holdout", required=True)
    parser.add_argument("--grids", type=Path, help="folder for a 64-face grid per mode (seed 0)")
    parser.add_argument("--json", help="append one line per mode")
    args = parser.parse_args()
    G = load_generator(args.generator)
    require_style_generator(G, "noise modes")
    holdout = load_faces(args.holdout, size=G.resolution).images
    for mode in MODES:
        drawn = WithNoise(G, mode)
        result = evaluate(drawn, holdout, len(holdout), ("swd",))
        print(f"noise {mode:6s}: SWD avg {result['swd_avg']:.1f}")
        if args.json:
            lib.record(args.json, {"generator": args.generator, "noise_mode": mode, "swd_avg": result["swd_avg"],
                                   "n": result["n"]})
        if args.grids:
            save_grid(generate(drawn, sample_latents(64, G.latent_dim, 0)), args.grids / f"noise_{mode}.png", nrow=8)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
