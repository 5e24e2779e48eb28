"""Training img/s of the DCGAN step by precision and memory format, side by side in one process.

    python bench/cpu_precision.py [--width 0.5] [--batch 64] [--steps 4] [--device cpu]

Why: the quick preset's choices (fp32 + channels_last on CPU) come from this table. One image is
its share of a D step on real + fake and a G step, as in facegan's trainer.
"""
import argparse
import contextlib
import time

import torch

from facegan.losses import d_loss_bce, g_loss_bce
from facegan.models import Discriminator, Generator


def images_per_second(width: float, bf16: bool, channels_last: bool, batch: int, steps: int,
                      device: torch.device) -> float:
    torch.manual_seed(0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    G = Generator(256, width).to(device, memory_format=memory_format)
    D = Discriminator(width).to(device, memory_format=memory_format)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = (torch.rand(batch, 3, 64, 64, device=device) * 2 - 1).contiguous(memory_format=memory_format)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def step() -> None:
        z = torch.randn(batch, 256, device=device)
        with autocast:
            fake = G(z)
            d_loss = d_loss_bce(D(real), D(fake.detach()))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        with autocast:
            g_loss = g_loss_bce(D(fake))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()

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
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {device}, width {args.width}, batch {args.batch}, {torch.get_num_threads()} threads")
    for bf16 in (False, True):
        for channels_last in (False, True):
            ips = images_per_second(args.width, bf16, channels_last, args.batch, args.steps, device)
            print(f"{'bf16' if bf16 else 'fp32'} {'channels_last' if channels_last else 'NCHW         '}: {ips:7.1f} img/s")


if __name__ == "__main__":
    main()
