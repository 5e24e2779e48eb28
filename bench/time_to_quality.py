"""Time to quality: SWD against held-out real faces after N minutes (or N steps) of training, per config.

    python bench/time_to_quality.py [--train DIR] [--holdout DIR] [--minutes 5 | --steps N] [--marks 1,2,3,4,5]
        --config "quick=" --config "best=ema_kimg=10,upsample=resize" [--out assets/time_to_quality.png]
        [--json results.jsonl]
    python bench/time_to_quality.py --plot-only a.jsonl b.jsonl --only "quick,best" --out plot.png

Each --config is NAME=overrides on top of the quick preset (comma-separated key=value, TrainConfig
fields; preset=NAME starts from another preset). Every config trains in this process through the
trainer's own steps (bench/lib.py's TrainerSteps: training.setup, the step iterator
training.steps.training_steps, end_epoch) on --train (default: bench/real_faces.sh's
/tmp/facegan-real/train), and at each mark the clock stops while the generator that `facegan train`
would export (the EMA one if on) is scored: SWD avg x1e3 of 1,000 fakes against the --holdout images
(as `facegan eval --n 1000` does); with EMA on, G itself too (swd_avg_without_ema), so one run
measures EMA on and off. The marks are training time only, epoch-end schedules included; the grids
and checkpoints of a real run add about a second per epoch.

The budget is --minutes of wall clock (marks in minutes, default every minute) or --steps (marks in
steps, default five equal parts). Minutes are what a user waits, but they depend on the machine and on
whatever else runs on it: run nothing else meanwhile. Steps give the same training on any machine.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import lib  # first: this checkout's facegan
import torch

from facegan.config import TrainConfig, build_config
from facegan.evaluation.evaluate import evaluate
from facegan.interop.export import export_generator
from facegan.latent import generate, sample_latents
from facegan.training.loop import GRID_SEED
from facegan.viz import save_grid


def option_types() -> dict[str, type]:
    """{option: type} of TrainConfig's own options and of every architecture's settings (overrides are flat)."""
    from facegan.models import ARCHITECTURES, config_class
    from facegan.models.projected.config import ProjectedConfig
    from facegan.options import TYPES, options

    return {f.name: TYPES[f.type] for cls in (TrainConfig, ProjectedConfig, *map(config_class, ARCHITECTURES))
            for f in options(cls)}


def parse_overrides(text: str) -> dict:
    """Overrides "key=value,key=value" -> {option: value of the option's type}; a value may hold commas."""
    types = option_types()
    out, key = {}, None
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" in item:
            key, _, value = item.partition("=")
            out[key] = value
        else:  # a comma inside a value: augment=color,translation
            out[key] += "," + item
    unknown = sorted(set(out) - set(types))
    if unknown:
        raise SystemExit(f"time_to_quality: unknown config key {unknown[0]!r} in {text!r}")
    return {k: v.lower() in ("1", "true", "yes") if types[k] is bool else types[k](v) for k, v in out.items()}


def run_config(name: str, overrides: dict, train_images: torch.Tensor, holdout: torch.Tensor, marks: list[float],
               budget: str, grid_dir: Path | None, export_dir: Path | None = None,
               export_every_mark: bool = False, json_path: str | None = None) -> list[dict]:
    """Train one config to each mark in turn (``budget``: "minutes" or "steps") and score it there; each point
    is appended to ``json_path`` as it is measured, so a long run stopped early keeps its marks."""
    overrides = dict(overrides)
    cfg = build_config(overrides.pop("preset", "quick"), {**overrides, "data": "unused", "device": "cpu"})
    loop = lib.TrainerSteps(cfg, train_images, "cpu")
    p, pos = loop.parts, loop.position
    points, clock = [], 0.0
    print(f"{name}: preset {cfg.preset} {overrides or ''} | {p.amp.precision} | batch {cfg.batch_size}", flush=True)
    for mark in marks:
        if budget == "steps":
            clock += loop.run(steps=max(0, int(mark) - pos.step))[1]
        else:
            clock += loop.run(seconds=max(0.0, mark * 60 - clock))[1]
        # the clock is stopped here: score the generator `facegan train` exports, and G itself if that is the EMA
        point = {"config": name, "minutes": mark if budget == "minutes" else round(clock / 60, 3),
                 "swd_avg": evaluate(p.sampler, holdout, n=len(holdout), metrics=("swd",))["swd_avg"],
                 "step": pos.step, "images": pos.images_seen, "epochs": pos.images_seen / len(train_images),
                 "training_s": round(clock, 1)}
        if budget == "steps":
            point["budget"] = "steps"
        if p.sampler is not p.G:
            point["swd_avg_without_ema"] = evaluate(p.G, holdout, n=len(holdout), metrics=("swd",))["swd_avg"]
        points.append(point)
        if json_path:
            lib.record(json_path, point, jsonl=True)
        print(f"  {mark:g} {budget}: SWD avg {point['swd_avg']:.1f} after {pos.step} steps, {clock / 60:.2f} min "
              f"({point['epochs']:.1f} epochs)" + (f"; without EMA {point['swd_avg_without_ema']:.1f}"
                                                   if "swd_avg_without_ema" in point else ""), flush=True)
        unit = "min" if budget == "minutes" else "steps"
        if grid_dir:
            save_grid(generate(p.sampler, sample_latents(64, cfg.latent_dim, GRID_SEED)),
                      grid_dir / f"{name}_{mark:g}{unit}.png", nrow=8)
        if export_dir and export_every_mark:  # each mark's generator, for judges slower than SWD (face_quality.py)
            export_dir.mkdir(parents=True, exist_ok=True)
            export_generator(p.sampler, export_dir / f"{name}_{mark:g}{unit}.safetensors", cfg.to_dict())
    if export_dir:  # what `facegan train` would export at the last mark, for sample / mix / eval
        export_dir.mkdir(parents=True, exist_ok=True)
        export_generator(p.sampler, export_dir / f"{name}.safetensors", cfg.to_dict())
    return points


def plot(points: list[dict], path: Path, floor: float | None, log_x: bool = False, by_images: bool = False,
         continues: dict[str, str] | None = None) -> None:
    """SWD against the budget; ``continues`` {name: earlier name}: with ``by_images``, a run that started from
    another's generator (a fine-tune) is drawn from where that one ended."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4))
    ax = fig.subplots()
    steps = points[0].get("budget") == "steps"  # the x axis: the budget's unit
    for name in dict.fromkeys(p["config"] for p in points):
        mine = [p for p in points if p["config"] == name]
        start = max((p["images"] for p in points if p["config"] == (continues or {}).get(name)), default=0)
        x = [(start + p["images"]) / 1000 if by_images else p["step"] if steps else p["minutes"] for p in mine]
        ax.plot(x, [p["swd_avg"] for p in mine], "o-", label=name)
    if floor:
        ax.axhline(floor, color="grey", ls="--", lw=1, label="real vs real")
    ax.set_xlabel("thousands of training images seen" if by_images else "training steps" if steps
                  else "training minutes (wall clock, 2 CPU cores)")
    ax.set_ylabel("SWD avg x1e3 vs held-out faces (lower is better)")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks([10, 15, 20, 30, 40, 60, 80, 100])
    if log_x and not by_images:  # runs of minutes and of hours on one axis
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks([t for t in (2.5, 5, 10, 20, 30, 45, 60, 90, 150) if t <= max(p["minutes"] for p in points)])
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def marks_of(args) -> tuple[list[float], str]:
    """(marks, "minutes" or "steps"): --marks in the budget's unit, else every minute / five equal parts."""
    if args.steps:
        marks = [float(m) for m in args.marks.split(",")] if args.marks else [round(args.steps * k / 5) for k in range(1, 6)]
        return marks, "steps"
    return ([float(m) for m in args.marks.split(",")] if args.marks
            else [float(m) for m in range(1, int(args.minutes) + 1)]), "minutes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    lib.add_protocol_arguments(parser)
    parser.add_argument("--plot-only", nargs="+", metavar="JSONL", help="draw --out from earlier --json files")
    parser.add_argument("--only", help="with --plot-only: comma-separated config names, in this order")
    lib.add_budget_arguments(parser, minutes=5)
    parser.add_argument("--marks", default="", help="comma-separated marks in the budget's unit (default: every "
                                                    "minute of --minutes; five equal parts of --steps)")
    parser.add_argument("--config", action="append", default=[], help="NAME=key=value,key=value (repeatable)")
    parser.add_argument("--out", help="PNG plot of SWD against minutes (or steps)")
    parser.add_argument("--grids", help="folder for each config's 8x8 grid at every mark")
    parser.add_argument("--json", help="append the points here (JSON lines, with lib.record's provenance)")
    parser.add_argument("--export", help="folder for each config's generator at the last mark (NAME.safetensors)")
    parser.add_argument("--export-every-mark", action="store_true",
                        help="with --export: also each mark's generator (NAME_<mark>min.safetensors)")
    parser.add_argument("--log-x", action="store_true", help="log-scaled minutes (for runs of minutes and hours)")
    parser.add_argument("--floor", type=float, help="real-vs-real SWD to draw as a line")
    parser.add_argument("--by-images", action="store_true",
                        help="x axis: images seen (runs from machines of other speeds, or sharing one, side by side)")
    parser.add_argument("--continues", action="append", default=[], metavar="NAME=EARLIER",
                        help="with --by-images: config NAME started from EARLIER's generator; draw it from there")
    args = parser.parse_args()
    if args.plot_only:
        points = [json.loads(line) for path in args.plot_only for line in Path(path).read_text().splitlines()]
        if args.only:
            points = [p for name in args.only.split(",") for p in points if p["config"] == name]
        plot(points, Path(args.out), args.floor, args.log_x, args.by_images,
             dict(spec.split("=", 1) for spec in args.continues))
        return
    if not args.config:
        parser.error("at least one --config is needed (or --plot-only)")

    marks, budget = marks_of(args)
    train_images = lib.protocol_faces(args.train, holdout=False)
    holdout = lib.protocol_faces(args.holdout, holdout=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(train_images):,} training faces, "
          f"{len(holdout):,} held out; marks {marks} {budget}")
    points = []
    for spec in args.config:
        name, _, text = spec.partition("=")
        points += run_config(name, parse_overrides(text), train_images, holdout, marks, budget,
                             Path(args.grids) if args.grids else None, Path(args.export) if args.export else None,
                             args.export_every_mark, args.json)
    print("\n| config | " + " | ".join(f"{m:g} {budget}" for m in marks) + " |")
    print("|---|" + "---|" * len(marks))
    for name in dict.fromkeys(p["config"] for p in points):
        print(f"| {name} | " + " | ".join(f"{p['swd_avg']:.1f}" for p in points if p["config"] == name) + " |")
    if args.out:
        plot(points, Path(args.out), args.floor, args.log_x, args.by_images)
        print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
