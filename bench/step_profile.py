"""Where a training step and an epoch end spend their time (paper DCGAN by default).

    python bench/step_profile.py [--width 1.0] [--batch 128] [--device cpu] [--json FILE.jsonl]

Prints three tables: the trainer's step (bench/lib.py's TrainerSteps over facegan.training.steps.training_steps,
fp32 + channels_last) by operator
(torch.profiler); one Adam step of G's parameters with each implementation (for-loop, foreach,
fused); and the epoch-end work of `facegan train` (grid of 64 fixed-z samples, checkpoint write,
generator export, loss plot).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import lib  # first: this checkout's facegan
import torch
from torch.profiler import ProfilerActivity, profile

from facegan.config import config_from_flat
from facegan.interop.export import export_generator
from facegan.latent import generate, sample_latents
from facegan.training import state as ckpt
from facegan.viz import plot_losses, save_grid


def milliseconds(fn, repeats: int = 3, device: torch.device | None = None) -> float:
    """Mean milliseconds of ``repeats`` calls after one warm-up call."""
    return statistics.mean(lib.call_times(fn, repeats, warmup=1, device=device)) * 1000


def epoch_end_work(loop: lib.TrainerSteps) -> dict[str, float]:
    """Milliseconds of each piece of work `facegan train` does at an epoch's end, on this run's networks."""
    G, cfg = loop.G, loop.cfg
    history = [{"step": i, "epoch": 1 + i // 5, "d_loss": 1.0, "g_loss": 2.0, "d_real": 0.5, "d_fake": 0.4,
                "img_per_s": 60.0} for i in range(250)]  # 50 epochs of 5 log lines
    state = ckpt.snapshot(loop.parts, loop.position, [])  # exactly what the trainer checkpoints
    fixed_z = sample_latents(64, 256, 1234)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        work = {"64-image grid": lambda: save_grid(generate(G, fixed_z), run / "grid.png"),
                "checkpoint": lambda: ckpt.save_state(run, state, 3),
                "generator export": lambda: export_generator(G, run / "g.safetensors", cfg.to_dict()),
                "loss plot": lambda: plot_losses(history, run / "losses.png")}
        return {name: milliseconds(fn, device=loop.device) for name, fn in work.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="append the Adam and epoch-end timings here (one JSON line, with provenance)")
    args = parser.parse_args()
    device = torch.device(args.device)
    images = torch.randint(0, 256, (1024, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cfg = config_from_flat({"width": args.width, "batch_size": args.batch, "precision": "fp32", "device": str(device)})
    loop = lib.TrainerSteps(cfg, images, device)
    G = loop.G

    loop.step()
    with profile(activities=[ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if device.type == "cuda" else [])]) as prof:
        loop.run(steps=2)
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"torch {torch.__version__}, {device}, width {args.width}, batch {args.batch}: two training steps")
    print(prof.key_averages().table(sort_by=sort, row_limit=12))

    print(f"Adam step over G's {sum(p.numel() for p in G.parameters()):,} parameters:")
    adam = {}
    for name, options in [("for-loop", {"foreach": False}), ("foreach", {"foreach": True}), ("fused", {"fused": True})]:
        optimizer = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999), **options)
        adam[name] = milliseconds(optimizer.step, 10, device)
        print(f"  {name:9s} {adam[name]:7.2f} ms")

    print("epoch-end work of facegan train:")
    chores = epoch_end_work(loop)
    for name, ms in chores.items():
        print(f"  {name:17s} {ms:7.0f} ms")
    if args.json:
        lib.record(args.json, {"bench": "step_profile", "device": str(device), "width": args.width, "batch": args.batch,
                               "adam_ms": adam, "epoch_end_ms": chores})


if __name__ == "__main__":
    main()
