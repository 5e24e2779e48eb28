"""Training img/s of facegan's step by precision and memory format, side by side in one process.

    python bench/cpu_precision.py [--width 0.5] [--batch 64] [--steps 4] [--device cpu]
                                  [--precisions fp32,bf16]

Why: `--precision auto` and the channels_last default come from this table. One image is its share
of a D step on real + fake and a G step: facegan.training's d_step and g_step, with the trainer's
Amp (autocast, and loss scaling for fp16).
"""
import argparse
import time

import torch

from facegan.amp import Amp, native_bf16
from facegan.config import TrainConfig
from facegan.models import Discriminator, Generator
from facegan.training import adam, d_step, g_step


def images_per_second(width: float, precision: str, channels_last: bool, batch: int, steps: int,
                      device: torch.device) -> float:
    torch.manual_seed(0)
    cfg = TrainConfig(width=width, batch_size=batch, precision=precision, channels_last=channels_last)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    G = Generator(256, width).to(device, memory_format=memory_format)
    D = Discriminator(width).to(device, memory_format=memory_format)
    opt_g, opt_d = adam(G, 2e-4, cfg, device), adam(D, 2e-4, cfg, device)
    amp = Amp(precision, device, [opt_g, opt_d])
    real = (torch.rand(batch, 3, 64, 64, device=device) * 2 - 1).contiguous(memory_format=memory_format)
    noise = torch.Generator(device).manual_seed(1)

    def step() -> None:
        z = torch.randn(batch, 256, device=device, generator=noise)
        fake, _, _, _ = d_step(G, D, opt_d, real, z, cfg, amp, noise)
        g_step(D, opt_g, fake, cfg, amp)

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated: fp32, bf16, fp16")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {device}, CPU {torch.backends.cpu.get_cpu_capability()}, native bf16 "
          f"{native_bf16(device)}, width {args.width}, batch {args.batch}, {torch.get_num_threads()} threads")
    for precision in args.precisions.split(","):
        for channels_last in (False, True):
            ips = images_per_second(args.width, precision, channels_last, args.batch, args.steps, device)
            print(f"{precision} {'channels_last' if channels_last else 'NCHW         '}: {ips:7.1f} img/s")


if __name__ == "__main__":
    main()
