"""StyleGAN2 training speed on this machine, per network size: img/s of facegan's own training step.

    python bench/stylegan2_speed.py [--seconds 15 | --steps N] [--batch 64] [--preset quick] [--json FILE.jsonl]
        [SIZE ...]

SIZE is channel_base/channel_max (default: 4096/512 2048/256 2048/128 1024/128). Each size trains
the given preset with arch stylegan2 (its DiffAugment and precision: auto = bf16 where the CPU has it)
on random images for --seconds (or exactly --steps steps: the same work on any machine) after 3
warm-up steps, through the trainer's own steps (bench/lib.py's TrainerSteps over
facegan.training.steps.training_steps), and prints parameters and img/s. One image = its share of one
D step (real + fake) and one G step, as bench/throughput.py counts. Run nothing else meanwhile.
"""
from __future__ import annotations

import argparse

import lib  # first: this checkout's facegan
import torch

from facegan.config import build_config
from facegan.models.summary import count_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", default=["4096/512", "2048/256", "2048/128", "1024/128"])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, default=15, help="timed wall clock per size (default 15)")
    budget.add_argument("--steps", type=int, help="timed steps per size instead of --seconds")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--json", help="append one JSON line per size here (with lib.record's provenance)")
    args = parser.parse_args()
    real = torch.randint(0, 256, (1024, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, preset {args.preset}, batch {args.batch}")
    rows = []
    for size in args.sizes:
        base, top = (int(v) for v in size.split("/"))
        cfg = build_config(args.preset, {"arch": "stylegan2", "channel_base": base, "channel_max": top,
                                         "batch_size": args.batch, "data": "unused", "device": "cpu"})
        loop = lib.TrainerSteps(cfg, real, "cpu")
        loop.run(steps=3)  # warm-up
        steps, seconds = loop.run(steps=args.steps) if args.steps else loop.run(seconds=args.seconds)
        rate = steps * cfg.batch_size / seconds
        print(f"{size}: {loop.precision}, G {count_parameters(loop.G) / 1e6:.2f} M, D {count_parameters(loop.D) / 1e6:.2f} M "
              f"parameters: {rate:.0f} img/s", flush=True)
        rows.append({"bench": "stylegan2_speed", "size": size, "preset": args.preset, "batch": cfg.batch_size,
                     "precision": loop.precision, "g_parameters": count_parameters(loop.G),
                     "d_parameters": count_parameters(loop.D), "steps": steps, "seconds": round(seconds, 2),
                     "img_per_s": round(rate, 1)})
    if args.json:
        lib.record(args.json, rows, jsonl=True)


if __name__ == "__main__":
    main()
