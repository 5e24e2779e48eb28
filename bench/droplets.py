"""The droplet artefact (StyleGAN2 paper, section 2): StyleGAN 1's AdaIN block against StyleGAN2's modulated one.

    python bench/droplets.py [--train DIR] [--minutes 5 | --steps N] [--resolution 64]
        [--json bench/results/droplets_cpu2b.jsonl] [--figure assets/droplets.png]

Both blocks train with the stylegan-cpu preset (8 mapping layers, as StyleGAN 1) on the same faces for the
same budget, through the trainer's own steps (bench/lib.py's TrainerSteps). Then, for 64 seeds, the
droplet signal per synthesis layer: the mean over images and channels of each feature map's peak |x| over
its mean |x| (facegan.evaluation.droplets; instance norm lets a generator pass signal strength as one
strong local spike, which makes that ratio large), and an 8x8 grid of each block's faces side by side.
"""
from __future__ import annotations

import argparse

import lib  # first: this checkout's facegan
import torch

from facegan.config import build_config
from facegan.data.images import load_faces
from facegan.evaluation.droplets import droplet_signal
from facegan.latent import codes_for_seeds, sample, ws_from_codes
from facegan.viz import labelled_grid

BLOCKS = ("adain", "modulated")


def train_block(block: str, images: torch.Tensor, args: argparse.Namespace) -> torch.nn.Module:
    cfg = build_config("stylegan-cpu", {"style_block": block, "mapping_layers": 8, "resolution": args.resolution,
                                        "seed": args.seed, "device": "cpu"})
    steps = lib.TrainerSteps(cfg, images, torch.device("cpu"))
    steps.run(steps=args.steps, seconds=None if args.steps else args.minutes * 60)
    print(f"{block}: {steps.position.step} steps, {steps.position.images_seen:,} images")
    return steps.parts.sampler.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    lib.add_protocol_arguments(parser, train=True)
    lib.add_budget_arguments(parser, minutes=5.0)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="append the per-layer ratios here (with lib.record's provenance)")
    parser.add_argument("--figure", help="PNG: 4 rows of each block's faces, adain above modulated")
    args = parser.parse_args()
    images = load_faces(args.train, size=args.resolution, progress=False).images
    generators = {block: train_block(block, images, args) for block in BLOCKS}
    rows = []
    for block, G in generators.items():
        ws = ws_from_codes(G, codes_for_seeds(G, range(64)))  # (64, num_ws, w_dim)
        ratios = droplet_signal(G, ws)
        print(f"{block:>9}: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
        rows.append({"block": block, "peak_to_mean": ratios, "resolution": args.resolution,
                     "budget": {"steps": args.steps} if args.steps else {"minutes": args.minutes}})
    if args.json:
        lib.record(args.json, rows)
    if args.figure:
        faces = torch.cat([sample(G, 32, seed=0) for G in generators.values()])
        labelled_grid(faces, 8, ["adain", "", "", "", "modulated", "", "", ""], scale=2).save(args.figure)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
