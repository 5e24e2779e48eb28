"""Training img/s of facegan's step by precision and memory format, side by side in one process.

    python bench/cpu_precision.py [--width 0.5] [--batch 64] [--steps 4] [--device cpu]
                                  [--precisions fp32,bf16] [--json FILE.jsonl]

Why: `--precision auto` and the channels_last default come from this table. One image is its share
of a D step on real + fake and a G step: the trainer's own steps (bench/lib.py's TrainerSteps over
facegan.training.steps.training_steps: d_step, g_step, fused Adam, and the Amp with autocast, and loss
scaling for fp16) on random uint8 images, timed over --steps after one warm-up step.
"""
from __future__ import annotations

import argparse

import lib  # first: this checkout's facegan
import torch

from facegan.config import config_from_flat
from facegan.training.amp import native_bf16


def images_per_second(images: torch.Tensor, width: float, precision: str, channels_last: bool, batch: int,
                      steps: int, device: torch.device) -> float:
    cfg = config_from_flat({"width": width, "batch_size": batch, "precision": precision,
                            "channels_last": channels_last, "device": str(device)})
    loop = lib.TrainerSteps(cfg, images, device)
    loop.step()  # warm-up
    return lib.images_per_second(loop.step, steps, batch, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per configuration")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated: fp32, bf16, fp16")
    parser.add_argument("--json", help="append the table here (one JSON line, with lib.record's provenance)")
    args = parser.parse_args()
    device = torch.device(args.device)
    images = torch.randint(0, 256, (1024, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    print(f"torch {torch.__version__}, {device}, CPU {torch.backends.cpu.get_cpu_capability()}, native bf16 "
          f"{native_bf16(device)}, width {args.width}, batch {args.batch}, {torch.get_num_threads()} threads")
    table = {}
    for precision in args.precisions.split(","):
        for channels_last in (False, True):
            ips = images_per_second(images, args.width, precision, channels_last, args.batch, args.steps, device)
            table[f"{precision} {'channels_last' if channels_last else 'NCHW'}"] = round(ips, 1)
            print(f"{precision} {'channels_last' if channels_last else 'NCHW         '}: {ips:7.1f} img/s")
    if args.json:
        lib.record(args.json, {"bench": "cpu_precision", "device": str(device), "width": args.width,
                               "batch": args.batch, "steps": args.steps, "native_bf16": native_bf16(device),
                               "img_per_s": table})


if __name__ == "__main__":
    main()
