"""StyleGAN2 training speed on this machine, per network size: img/s of facegan's own training step.

    python bench/stylegan2_speed.py [--seconds 15] [--batch 64] [--preset quick] [SIZE ...]

SIZE is channel_base/channel_max (default: 4096/512 2048/256 2048/128 1024/128). Each size trains
the given preset with arch stylegan2 (its DiffAugment and precision: auto = bf16 where the CPU has it)
on random images for --seconds after 3 warm-up steps, and prints parameters and img/s. One image =
its share of one D step (real + fake) and one G step, as bench/throughput.py counts. Run nothing else
meanwhile.
"""
from __future__ import annotations

import argparse
import time

import torch

from facegan.config import build_config
from facegan.models.summary import count_parameters
from facegan.training import loop as training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", default=["4096/512", "2048/256", "2048/128", "1024/128"])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--preset", default="quick")
    args = parser.parse_args()
    real = torch.rand(256, 3, 64, 64) * 2 - 1
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, preset {args.preset}, batch {args.batch}")
    for size in args.sizes:
        base, top = (int(v) for v in size.split("/"))
        cfg = build_config(args.preset, {"arch": "stylegan2", "channel_base": base, "channel_max": top,
                                         "batch_size": args.batch, "data": "unused", "device": "cpu"})
        p = training.setup(cfg, 3, 64, torch.device("cpu"))
        pos = training.Position(torch.Generator().manual_seed(0))

        def step() -> None:
            training.train_step(p, pos, real[torch.randint(0, len(real), (cfg.batch_size,))])

        for _ in range(3):
            step()
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            step()
            steps += 1
        rate = steps * cfg.batch_size / (time.perf_counter() - start)
        print(f"{size}: {p.amp.precision}, G {count_parameters(p.G) / 1e6:.2f} M, D {count_parameters(p.D) / 1e6:.2f} M "
              f"parameters: {rate:.0f} img/s", flush=True)


if __name__ == "__main__":
    main()
