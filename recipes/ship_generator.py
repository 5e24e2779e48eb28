"""Make a trained generator a shipped model: score it against the held-out faces, store it as fp16.

    python recipes/ship_generator.py EXPORT models/NAME.safetensors --holdout DIR --data "what it was trained on"

SWD and MS-SSIM of 1,000 fakes against the --holdout images (as `facegan eval --n 1000 --metrics
swd,msssim` does) go into the file's metadata, where the app's model card reads them; --data replaces
the training config's data path (a folder on the machine that trained it) with a description. Prints
how far the fp16 faces are from the fp32 ones.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import checkout  # noqa: F401  (first: this checkout's facegan; recipes/checkout.py)
import torch

from facegan.data.images import load_faces
from facegan.evaluation.evaluate import evaluate, format_table
from facegan.interop.export import export_config, export_generator, load_generator
from facegan.latent import sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="the trained generator (a run directory or .safetensors)")
    parser.add_argument("out", type=Path, help="the shipped file to write (fp16 safetensors)")
    parser.add_argument("--holdout", required=True, help="folder of held-out real faces (never trained on)")
    parser.add_argument("--data", required=True, help="what it was trained on, for the card")
    parser.add_argument("--init", help="for a fine-tuned generator: what it started from, for the card (replaces the "
                                       "training config's init_generator, a path on the machine that trained it)")
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()

    G = load_generator(args.export)
    holdout = load_faces(args.holdout, size=G.resolution).images
    metrics = evaluate(G, holdout, args.n, ("swd", "msssim"))
    print(format_table(metrics))
    metrics["data"] = f"{min(args.n, len(holdout)):,} held-out real CelebA faces"
    config = {**export_config(args.export), "data": args.data}
    if args.init:
        config["init_generator"] = args.init
    export_generator(G, args.out, config, half=True, metrics=metrics)
    shipped = load_generator(args.out)
    gap = (sample(shipped, 64, seed=0) - sample(G, 64, seed=0)).abs().max()
    print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MB, fp16): faces within {float(gap):.4f} "
          "of the fp32 export's on the [-1, 1] scale")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
