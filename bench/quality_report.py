"""The quality report: SWD and MS-SSIM for real-vs-real, untrained, collapsed and trained generators.

    python bench/quality_report.py [--train DIR] [--holdout DIR] --generator RUN/generator.safetensors [--json FILE.jsonl]
    python bench/quality_report.py --train synthetic --holdout synthetic --generator NAME=RUN/generator.safetensors

Rows (each on n held-out real images, default 1000, SWD on the same n):
- real vs real: n training images against the n held-out ones (the floor a perfect generator reaches);
- untrained: a freshly initialised generator of the trained one's architecture;
- collapsed: the trained generator with every z replaced by one vector (all fakes alike);
- trained: the given generator(s).
--train and --holdout default to bench/real_faces.sh's split (/tmp/facegan-real/train and holdout). With
``synthetic`` the held-out set is 1,000 faces rendered from a seed the training set never used.
Prints a markdown table for docs/ and bench/RESULTS.md; --json appends its rows (with lib.record's provenance).
"""
from __future__ import annotations

import argparse

import lib  # first: this checkout's facegan
import torch

from facegan.evaluation.evaluate import evaluate, real_subset
from facegan.evaluation.metrics import msssim_diversity, swd
from facegan.interop.export import load_generator
from facegan.latent import sample_latents
from facegan.models import generator_from_meta
from facegan.models.contract import GeneratorBase


class Collapsed(GeneratorBase):
    """Wraps a generator so that every latent vector is replaced by one fixed vector: total mode collapse."""

    def __init__(self, generator: GeneratorBase):
        super().__init__()
        self.generator, self.latent_dim = generator, generator.latent_dim
        self.resolution, self.channels = generator.resolution, generator.channels
        self.register_buffer("z0", sample_latents(1, generator.latent_dim, seed=0))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(self.z0.expand(z.shape[0], -1).contiguous())


def holdout_images(spec: str, n: int) -> torch.Tensor:
    """n held-out faces: the protocol's synthetic ones, or a seeded subset of a folder's."""
    held = lib.protocol_faces(spec, holdout=True, n=n)
    return held if spec == "synthetic" else real_subset(held, n, seed=3)


def row(name: str, scores: dict) -> str:
    return (f"| {name} | {scores['swd64']:.1f} | {scores['swd32']:.1f} | {scores['swd16']:.1f} | "
            f"**{scores['swd_avg']:.1f}** | {scores['msssim']:.3f} | {scores['msssim_real']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    lib.add_protocol_arguments(parser)
    parser.add_argument("--generator", action="append", default=[], help="name=path or path (repeatable)")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--json", help="append one JSON line per row here (with lib.record's provenance)")
    args = parser.parse_args()

    watch = lib.Stopwatch()
    held = holdout_images(args.holdout, args.n)
    n = len(held)
    train = real_subset(lib.protocol_faces(args.train, holdout=False), n, seed=4)
    print(f"n = {n} held-out real images; SWD on {n} x 128 patches per level; MS-SSIM over {args.pairs} pairs\n")
    print("| generator | SWD 64 | SWD 32 | SWD 16 | SWD avg (x1e3) | MS-SSIM fakes | MS-SSIM real |")
    print("|---|---|---|---|---|---|---|")
    real_msssim = msssim_diversity(held, args.pairs)
    rows = {"real vs real (floor)": {**swd(train, held), "msssim": msssim_diversity(train, args.pairs),
                                     "msssim_real": real_msssim}}
    print(row("real vs real (floor)", rows["real vs real (floor)"]))
    for spec in args.generator:
        name, _, path = spec.rpartition("=")
        G = load_generator(path)
        torch.manual_seed(0)
        untrained = generator_from_meta(G.arch()).eval()  # same architecture, fresh weights
        for label, model in ((f"untrained ({G.arch()['arch']})", untrained), (f"collapsed {name or path}", Collapsed(G)),
                             (name or path, G)):
            rows[label] = evaluate(model, held, n=n, pairs=args.pairs)
            print(row(label, rows[label]))
    print(f"\n({watch.seconds():.0f} s)")
    if args.json:
        lib.record(args.json, [{"bench": "quality_report", "row": label, "train": args.train, "holdout": args.holdout,
                                "n": n, "pairs": args.pairs, **scores} for label, scores in rows.items()], jsonl=True)


if __name__ == "__main__":
    main()
