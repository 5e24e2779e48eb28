"""Where a training step and an epoch end spend their time (paper DCGAN by default).

    python bench/step_profile.py [--width 1.0] [--batch 128] [--device cpu]

Prints three tables: the trainer's step (bench/throughput.py's FaceganLoop, fp32 + channels_last) by operator
(torch.profiler); one Adam step of G's parameters with each implementation (for-loop, foreach,
fused); and the epoch-end work of `facegan train` (grid of 64 fixed-z samples, checkpoint write,
generator export, loss plot).
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch
from throughput import FaceganLoop  # bench/ is the script's folder, so it is on sys.path
from torch.profiler import ProfilerActivity, profile

from facegan.interop.export import export_generator
from facegan.latent import generate, sample_latents
from facegan.training import loop as training
from facegan.training import state as ckpt
from facegan.viz import plot_losses, save_grid


def milliseconds(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    images = torch.randint(0, 256, (1024, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    loop = FaceganLoop(images, device, args.width, args.batch, precision="fp32")
    G, cfg, step = loop.G, loop.cfg, loop.step

    step()
    with profile(activities=[ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if device.type == "cuda" else [])]) as prof:
        for _ in range(2):
            step()
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"torch {torch.__version__}, {device}, width {args.width}, batch {args.batch}: two training steps")
    print(prof.key_averages().table(sort_by=sort, row_limit=12))

    print(f"Adam step over G's {sum(p.numel() for p in G.parameters()):,} parameters:")
    for name, options in [("for-loop", {"foreach": False}), ("foreach", {"foreach": True}), ("fused", {"fused": True})]:
        optimizer = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999), **options)
        print(f"  {name:9s} {milliseconds(optimizer.step, 10):7.2f} ms")

    history = [{"step": i, "epoch": 1 + i // 5, "d_loss": 1.0, "g_loss": 2.0, "d_real": 0.5, "d_fake": 0.4,
                "img_per_s": 60.0} for i in range(250)]  # 50 epochs of 5 log lines
    state = training.snapshot(loop.parts, loop.position, [])  # exactly what the trainer checkpoints
    fixed_z = sample_latents(64, 256, 1234)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        print("epoch-end work of facegan train:")
        for name, work in [("64-image grid", lambda: save_grid(generate(G, fixed_z), run / "grid.png")),
                           ("checkpoint", lambda: ckpt.save_state(run, state, 3)),
                           ("generator export", lambda: export_generator(G, run / "g.safetensors", cfg.to_dict())),
                           ("loss plot", lambda: plot_losses(history, run / "losses.png"))]:
            print(f"  {name:17s} {milliseconds(work):7.0f} ms")


if __name__ == "__main__":
    main()
