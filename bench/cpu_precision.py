"""Training img/s of facegan's step by precision and memory format, side by side in one process.

    python bench/cpu_precision.py [--width 0.5] [--batch 64] [--steps 4] [--device cpu]
                                  [--precisions fp32,bf16]

Why: `--precision auto` and the channels_last default come from this table. One image is its share
of a D step on real + fake and a G step: the trainer's step (bench/throughput.py's FaceganLoop: d_step,
g_step, fused Adam, and the Amp with autocast, and loss scaling for fp16) on random uint8 images.
"""
import argparse

import torch
from throughput import FaceganLoop, timed  # bench/ is the script's folder, so it is on sys.path

from facegan.training.amp import native_bf16


def images_per_second(images: torch.Tensor, width: float, precision: str, channels_last: bool, batch: int,
                      steps: int, device: torch.device) -> float:
    loop = FaceganLoop(images, device, width, batch, precision, channels_last)
    loop.step()  # warm-up
    return timed(loop, steps, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated: fp32, bf16, fp16")
    args = parser.parse_args()
    device = torch.device(args.device)
    images = torch.randint(0, 256, (1024, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    print(f"torch {torch.__version__}, {device}, CPU {torch.backends.cpu.get_cpu_capability()}, native bf16 "
          f"{native_bf16(device)}, width {args.width}, batch {args.batch}, {torch.get_num_threads()} threads")
    for precision in args.precisions.split(","):
        for channels_last in (False, True):
            ips = images_per_second(images, args.width, precision, channels_last, args.batch, args.steps, device)
            print(f"{precision} {'channels_last' if channels_last else 'NCHW         '}: {ips:7.1f} img/s")


if __name__ == "__main__":
    main()
