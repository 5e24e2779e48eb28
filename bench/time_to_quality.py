"""Time to quality: SWD against held-out real faces after N minutes of wall-clock training, per config.

    python bench/time_to_quality.py --train DIR --holdout DIR [--minutes 5] [--marks 1,2,3,4,5]
        --config "quick=" --config "best=ema_kimg=10,upsample=resize" [--out assets/time_to_quality.png]
        [--json results.jsonl]
    python bench/time_to_quality.py --plot-only a.jsonl b.jsonl --only "quick,best" --out plot.png

Each --config is NAME=overrides on top of the quick preset (comma-separated key=value, TrainConfig
fields; preset=NAME starts from another preset). Every config trains in this process with facegan's own set-up and step (training.setup,
training.train_step, end_epoch) on --train, and at each wall-clock mark the clock stops while the
generator that `facegan train` would export (the EMA one if on) is scored: SWD avg x1e3 of 1,000
fakes against the --holdout images (as `facegan eval --n 1000` does); with EMA on, G itself too
(swd_avg_without_ema), so one run measures EMA on and off. The marks are training time
only, epoch-end schedules included; the grids and checkpoints of a real run add about a second per
epoch. Run nothing else on the machine meanwhile: the marks are wall-clock.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from facegan.config import build_config, fields
from facegan.data import synthetic_faces as synthetic
from facegan.data.images import load_faces
from facegan.evaluation.evaluate import evaluate
from facegan.interop.export import export_generator
from facegan.latent import generate, sample_latents
from facegan.training import loop as training
from facegan.viz import save_grid


def parse_overrides(text: str) -> dict:
    types = {f.name: {"int": int, "float": float, "str": str, "bool": lambda v: v.lower() in ("1", "true", "yes")}[f.type]
             for f in fields()}
    out, key = {}, None
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" in item:
            key, _, value = item.partition("=")
            out[key] = value
        else:  # a comma inside a value: augment=color,translation
            out[key] += "," + item
    return {k: types[k](v) for k, v in out.items()}


def run_config(name: str, overrides: dict, train_images: torch.Tensor, holdout: torch.Tensor, marks: list[float],
               grid_dir: Path | None, export_dir: Path | None = None) -> list[dict]:
    overrides = dict(overrides)
    cfg = build_config(overrides.pop("preset", "quick"), {**overrides, "data": "unused", "device": "cpu"})
    device = torch.device("cpu")
    p = training.setup(cfg, train_images.shape[1], train_images.shape[-1], device)
    pos = training.Position(torch.Generator().manual_seed(cfg.seed))
    steps_per_epoch = len(train_images) // cfg.batch_size
    points, clock, mark = [], 0.0, 0
    print(f"{name}: preset {cfg.preset} {overrides or ''} | {p.amp.precision} | batch {cfg.batch_size}", flush=True)
    while mark < len(marks):
        start = time.perf_counter()
        # train until the next mark (checked every step: a step is well under a second here)
        while clock + (time.perf_counter() - start) < marks[mark] * 60:
            if pos.batch_in_epoch == 0:
                pos.perm = torch.randperm(len(train_images), generator=pos.data_rng)
            index = pos.perm[pos.batch_in_epoch * cfg.batch_size:(pos.batch_in_epoch + 1) * cfg.batch_size]
            training.train_step(p, pos, training.real_batch(train_images, index, cfg.flip, p.noise, p.memory_format))
            if pos.batch_in_epoch == steps_per_epoch:
                training.end_epoch(p, pos)
        clock += time.perf_counter() - start
        # the clock is stopped here: score the generator `facegan train` exports, and G itself if that is the EMA
        point = {"config": name, "minutes": marks[mark],
                 "swd_avg": evaluate(p.sampler, holdout, n=len(holdout), metrics=("swd",))["swd_avg"],
                 "step": pos.step, "images": pos.images_seen, "epochs": pos.images_seen / len(train_images)}
        if p.sampler is not p.G:
            point["swd_avg_without_ema"] = evaluate(p.G, holdout, n=len(holdout), metrics=("swd",))["swd_avg"]
        points.append(point)
        print(f"  {marks[mark]:g} min: SWD avg {point['swd_avg']:.1f} after {pos.step} steps "
              f"({point['epochs']:.1f} epochs)" + (f"; without EMA {point['swd_avg_without_ema']:.1f}"
                                                    if "swd_avg_without_ema" in point else ""), flush=True)
        if grid_dir:
            save_grid(generate(p.sampler, sample_latents(64, cfg.latent_dim, training.GRID_SEED)),
                      grid_dir / f"{name}_{marks[mark]:g}min.png", nrow=8)
        mark += 1
    if export_dir:  # what `facegan train` would export at the last mark, for sample / mix / eval
        export_dir.mkdir(parents=True, exist_ok=True)
        export_generator(p.sampler, export_dir / f"{name}.safetensors", cfg.to_dict())
    return points


def plot(points: list[dict], path: Path, floor: float | None) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4))
    ax = fig.subplots()
    for name in dict.fromkeys(p["config"] for p in points):
        mine = [p for p in points if p["config"] == name]
        ax.plot([p["minutes"] for p in mine], [p["swd_avg"] for p in mine], "o-", label=name)
    if floor:
        ax.axhline(floor, color="grey", ls="--", lw=1, label="real vs real")
    ax.set_xlabel("training minutes (wall clock, 2 CPU cores)")
    ax.set_ylabel("SWD avg x1e3 vs held-out faces (lower is better)")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks([10, 15, 20, 30, 40, 60, 80, 100])
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", help="folder of training faces, or synthetic")
    parser.add_argument("--holdout", help="folder of held-out faces (never trained on), or synthetic (1,000 faces "
                                          "from a seed the training set does not use)")
    parser.add_argument("--plot-only", nargs="+", metavar="JSONL", help="draw --out from earlier --json files")
    parser.add_argument("--only", help="with --plot-only: comma-separated config names, in this order")
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--marks", default="", help="comma-separated minutes (default 1, 2, ..., --minutes)")
    parser.add_argument("--config", action="append", default=[], help="NAME=key=value,key=value (repeatable)")
    parser.add_argument("--out", help="PNG plot of SWD against minutes")
    parser.add_argument("--grids", help="folder for each config's 8x8 grid at every mark")
    parser.add_argument("--json", help="append the points here (JSON lines)")
    parser.add_argument("--export", help="folder for each config's generator at the last mark (NAME.safetensors)")
    parser.add_argument("--floor", type=float, help="real-vs-real SWD to draw as a line")
    args = parser.parse_args()
    if args.plot_only:
        points = [json.loads(line) for path in args.plot_only for line in Path(path).read_text().splitlines()]
        if args.only:
            points = [p for name in args.only.split(",") for p in points if p["config"] == name]
        plot(points, Path(args.out), args.floor)
        return
    if not (args.train and args.holdout and args.config):
        parser.error("--train, --holdout and at least one --config are needed (or --plot-only)")

    marks = [float(m) for m in args.marks.split(",")] if args.marks else [float(m) for m in range(1, int(args.minutes) + 1)]
    train_images = load_faces(args.train, progress=False).images
    holdout = (synthetic.render_faces(1000, seed=1)[0] if args.holdout == "synthetic"  # training set: seed 0
               else load_faces(args.holdout, progress=False).images)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(train_images):,} training faces, "
          f"{len(holdout):,} held out; marks {marks} min")
    points = []
    for spec in args.config:
        name, _, text = spec.partition("=")
        points += run_config(name, parse_overrides(text), train_images, holdout, marks,
                             Path(args.grids) if args.grids else None, Path(args.export) if args.export else None)
        if args.json:
            with open(args.json, "a") as f:
                f.writelines(json.dumps(p) + "\n" for p in points if p["config"] == name)
    print("\n| config | " + " | ".join(f"{m:g} min" for m in marks) + " |")
    print("|---|" + "---|" * len(marks))
    for name in dict.fromkeys(p["config"] for p in points):
        print(f"| {name} | " + " | ".join(f"{p['swd_avg']:.1f}" for p in points if p["config"] == name) + " |")
    if args.out:
        plot(points, Path(args.out), args.floor)
        print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
