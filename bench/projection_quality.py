"""Reconstruction quality of `facegan project` on held-out real faces: PSNR and SSIM (mean per face) of
the projected faces against the photos, per latent space, with and without the perceptual loss.

    python bench/projection_quality.py --faces /tmp/facegan-real/holdout \
        --n 32 --json bench/results/projection_quality_cpu2a.jsonl
    python bench/projection_quality.py --faces /tmp/facegan-real/holdout --n 8 --figure assets/projection.png

The figure's rows: the photos, then per space (z for a DCGAN; w, w+ for a StyleGAN2) pixels + perceptual loss, then pixels only.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import lib  # first: this checkout's facegan
import torch

from facegan.data.images import decode_images, list_images, to_unit_range
from facegan.editing.attribute_classifier import load_classifier
from facegan.editing.projection import project, reconstruction_quality
from facegan.fileio import DEFAULT_GENERATOR, export_path, shipped_model
from facegan.interop.export import load_generator
from facegan.latent import latent_space
from facegan.viz import save_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default=str(shipped_model(DEFAULT_GENERATOR)))
    parser.add_argument("--faces", required=True, help="a folder of real faces the generator never saw")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json", type=Path, help="append one JSON line per variant (with lib.record's provenance)")
    parser.add_argument("--figure", type=Path, help="PNG: the first 8 photos, then their reconstructions per variant")
    args = parser.parse_args()
    generator = export_path(args.generator)
    G = load_generator(generator)
    classifier = load_classifier(shipped_model("attributes.safetensors"))[0]
    files = list_images(Path(args.faces))[:args.n]
    images, _ = decode_images(files, G.resolution)
    targets = to_unit_range(images)
    spaces = ["z"] if latent_space(G) == "z" else ["w", "w+"]
    rows = [targets[:8]]
    for space in spaces:
        for name, perceptual in (("pixels + perceptual", classifier), ("pixels only", None)):
            watch = lib.Stopwatch()
            _, faces, history = project(G, targets, perceptual, space, args.steps, say=lambda *a: None)
            row = {"bench": "projection_quality", "generator": str(generator), "space": space, "loss": name,
                   "faces": len(targets), "steps": args.steps, **reconstruction_quality(faces, targets),
                   "seconds_per_face": round(watch.seconds() / len(targets), 3)}
            print(json.dumps(row), flush=True)
            rows.append(faces[:8])
            if args.json:
                lib.record(args.json, row, jsonl=True)
    if args.figure:
        save_grid(torch.cat(rows), args.figure, nrow=len(rows[0]), scale=2)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
