"""Where a CPU training step goes with each discriminator: the trainer's step (bench/lib.py's TrainerSteps)
timed per config, and for the projected D its parts (the frozen EfficientNet-Lite0 forward and backward, the
mixing and heads), with the memory layout and precision as options.

    python bench/projected_profile.py [--threads 1] [--steps 6] [--json bench/results/projected_profile_cpu2c.jsonl]
        [--config NAME=key=value,...]   (default: stylegan-cpu with native, projected and native+projected D,
                                         fastgan with the projected D; each fp32 and auto precision)

Random uint8 images (the step's cost does not depend on what they show). Run it with nothing else on the
machine: the figures are ratios of one run.
"""
from __future__ import annotations

import argparse
import time

import lib  # first: this checkout's facegan
import torch
from time_to_quality import parse_overrides
from torch.profiler import ProfilerActivity, profile

from facegan.config import build_config

DEFAULT_CONFIGS = [
    "sg2 native=preset=stylegan-cpu,r1_gamma=0,precision=fp32",
    "sg2 projected=preset=stylegan-cpu,disc=projected,loss=hinge,r1_gamma=0,precision=fp32",
    "sg2 native+projected=preset=stylegan-cpu,disc=native+projected,r1_gamma=0,precision=fp32",
    "sg2 projected, NCHW=preset=stylegan-cpu,disc=projected,loss=hinge,r1_gamma=0,precision=fp32,channels_last=false",
    "sg2 projected, bf16=preset=stylegan-cpu,disc=projected,loss=hinge,r1_gamma=0,precision=auto",
    "fastgan projected=preset=stylegan-cpu,arch=fastgan,disc=projected,loss=hinge,r1_gamma=0,precision=fp32",
]


def time_steps(cfg, images: torch.Tensor, steps: int) -> tuple[float, lib.TrainerSteps]:
    loop = lib.TrainerSteps(cfg, images, "cpu", say=lambda *a: None)
    loop.run(steps=2)  # warm-up
    start = time.perf_counter()
    loop.run(steps=steps)
    return (time.perf_counter() - start) / steps, loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--config", action="append", help="NAME=overrides (as time_to_quality.py's)")
    parser.add_argument("--json", help="append one JSON line per config (with lib.record's provenance)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = torch.randint(0, 256, (512, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n\n| config | ms per step | img/s |\n|---|---|---|")
    for spec in args.config or DEFAULT_CONFIGS:
        name, _, text = spec.partition("=")
        overrides = parse_overrides(text)
        cfg = build_config(overrides.pop("preset", "quick"), {**overrides, "compile": False, "device": "cpu"})
        seconds, loop = time_steps(cfg, images, args.steps)
        rows.append({"config": name, "ms_per_step": round(seconds * 1000, 1), "img_per_s": round(cfg.batch_size / seconds, 1),
                     "batch": cfg.batch_size, "precision": loop.precision})
        print(f"| {name} | {seconds * 1000:.0f} | {cfg.batch_size / seconds:.0f} |", flush=True)
        if name == "sg2 projected":
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                loop.run(steps=2)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    if args.json:
        lib.record(args.json, [{"bench": "projected_profile", "threads": args.threads, **r} for r in rows], jsonl=True)


if __name__ == "__main__":
    main()
