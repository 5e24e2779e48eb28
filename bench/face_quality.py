"""Judge generators by more than pixels: SWD, MS-SSIM diversity and a face-descriptor Fréchet distance.

    python bench/face_quality.py [--train DIR] [--holdout DIR] --generator NAME=PATH [--generator ...]
        [--n 1000] [--grids DIR] [--json bench/results/face_quality_cpu2c.jsonl]

A projected discriminator looks through ImageNet features, so metrics built on ImageNet features would
flatter it, and SWD (pixel patches) misses garbled eyes. The third figure here embeds faces with a network
nobody trains facegan against: dlib's 128-d face-recognition ResNet (bench/face_identity.py; pip install -r
bench/requirements-edit.txt), trained by others on photos of real people. "FD face" is the Fréchet distance
between the Gaussians fitted to the descriptors of n generated faces and of the n held-out real ones (as FID
does with Inception features), x100.

Reference rows on the same protocol: real vs real (n training faces against the held-out ones: the floor),
the same real faces blurred with a Gaussian of sigma 1.5 px (what a smeared but well-shaped face scores),
and every --generator (fakes from facegan's evaluation seed, psi 1). --grids writes each generator's
8x8 grid at psi 1 (seeds 0-63) to count by eye the faces that do not read as faces.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import lib  # first: this checkout's facegan
import numpy as np
import torch
from face_identity import IdentityEmbedding
from PIL import Image, ImageFilter
from scipy import linalg

from facegan.evaluation.evaluate import fake_images, real_subset
from facegan.evaluation.metrics import msssim_diversity, swd
from facegan.interop.export import load_generator
from facegan.latent import generate, sample_latents
from facegan.viz import save_grid

BLUR_SIGMA = 1.5


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) between Gaussians fitted to rows of a and b."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * root.real))


def blurred(images: torch.Tensor, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> the same, each image blurred with a Gaussian of ``sigma`` pixels (PIL)."""
    out = [np.asarray(Image.fromarray(im.permute(1, 2, 0).numpy()).filter(ImageFilter.GaussianBlur(sigma)))
           for im in images]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def descriptors(embed: IdentityEmbedding, images: torch.Tensor) -> np.ndarray:
    """uint8 (N, 3, H, W) -> (N, 128) dlib face descriptors."""
    return embed(images.permute(0, 2, 3, 1).contiguous().numpy())


def scores(fake: torch.Tensor, held: torch.Tensor, held_desc: np.ndarray, embed: IdentityEmbedding,
           pairs: int) -> dict:
    return {**{k: round(v, 2) for k, v in swd(fake, held).items()},
            "msssim": round(msssim_diversity(fake, pairs), 4),
            "fd_face": round(100 * frechet_distance(descriptors(embed, fake), held_desc), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    lib.add_protocol_arguments(parser)
    parser.add_argument("--generator", action="append", default=[], help="NAME=PATH of an export (repeatable)")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=2000, help="image pairs for MS-SSIM diversity")
    parser.add_argument("--no-references", action="store_true", help="skip the real and blurred-real rows")
    parser.add_argument("--grids", type=Path, help="folder for each generator's 8x8 grid at psi 1 (seeds 0-63)")
    parser.add_argument("--json", help="append one JSON line per row (with lib.record's provenance)")
    args = parser.parse_args()

    watch = lib.Stopwatch()
    embed = IdentityEmbedding("landmarks")
    held = real_subset(lib.protocol_faces(args.holdout, holdout=True, n=args.n), args.n, seed=3)
    held_desc = descriptors(embed, held)
    rows = {}
    if not args.no_references:
        train = real_subset(lib.protocol_faces(args.train, holdout=False), len(held), seed=4)
        rows["real vs real (floor)"] = scores(train, held, held_desc, embed, args.pairs)
        rows[f"real, blurred sigma {BLUR_SIGMA}"] = scores(blurred(train), held, held_desc, embed, args.pairs)
    for spec in args.generator:
        name, _, path = spec.rpartition("=")
        G = load_generator(path)
        rows[name or path] = scores(fake_images(G, len(held)), held, held_desc, embed, args.pairs)
        if args.grids:
            args.grids.mkdir(parents=True, exist_ok=True)
            save_grid(generate(G, sample_latents(64, G.latent_dim, seed=0)), args.grids / f"{name or Path(path).stem}.png")
    print(f"n = {len(held)} held-out faces; SWD x1e3; FD face = Frechet distance of dlib descriptors x100\n")
    print("| row | SWD avg | SWD 64 / 32 / 16 | MS-SSIM | FD face |")
    print("|---|---|---|---|---|")
    for label, s in rows.items():
        print(f"| {label} | **{s['swd_avg']:.1f}** | {s['swd64']:.1f} / {s['swd32']:.1f} / {s['swd16']:.1f} | "
              f"{s['msssim']:.3f} | {s['fd_face']:.2f} |")
    print(f"\n({watch.seconds():.0f} s)")
    if args.json:
        lib.record(args.json, [{"bench": "face_quality", "row": label, "holdout": args.holdout, "n": len(held), **s}
                               for label, s in rows.items()], jsonl=True)


if __name__ == "__main__":
    main()
