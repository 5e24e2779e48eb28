"""The digits preset against its targets (issue 15): `facegan train --preset digits` for 5 minutes on the
built-in digits, then the digit classifier's report on 10,000 of its samples.

    python bench/digits_quality.py [--minutes 5 | --epochs N] [--data synthetic-digits | path/to/mnist] [--seed 0]
        [--work bench/_work/digits] [--classifier-epochs 5] [--assets assets] [--label NAME]
        [-- more facegan train flags, e.g. --mlp-hidden 128,256,512]

It runs the user's own commands, in this order, each in a fresh process:

1. `facegan train --preset digits --data DATA --minutes M` (the time limit counts training only; the
   built-in digits are rendered and cached before it starts, as in any first run), or with --epochs N
   `--epochs N --minutes 0`: the same training on any machine (`facegan train` has no step limit, so
   the machine-independent budget here is in epochs);
2. `facegan digits classifier --data DATA` (skipped when WORK already holds a classifier for DATA);
3. the report (`facegan digits score`): the share of samples recognised (p >= 0.9), the share of each
   digit among them, their entropy and the largest share, with two references through the same
   classifier: held-out real digits (what a perfect generator would score) and an untrained generator
   of the same architecture (what noise scores).

Targets (built-in digits, 5 minutes on 2 CPU cores): >= 80% recognised, all 10 digits present (each >= 1%
of the recognised), none above 20%. Prints a table, appends a JSON line to bench/results/digits_quality.jsonl
(with lib.record's provenance)
and, with --assets DIR, writes DIR/digits_grid.png (the last per-epoch grid), DIR/digits_losses.png and
DIR/digits_judged.png (recognised samples by digit, one row per digit, then a row not recognised).
Run nothing else on the machine meanwhile: the time limit is wall-clock.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import lib  # first: this checkout's facegan
import torch

from facegan.config import PRESETS, build_config
from facegan.data import SYNTHETIC_DIGITS
from facegan.data.images import to_uint8
from facegan.evaluation import digits as fd
from facegan.interop.export import load_generator
from facegan.latent import sample
from facegan.viz import save_grid

ROOT = lib.ROOT

TARGETS = {"recognised": 0.80, "classes_present": 10, "max_class_share": 0.20}


def facegan(*args: str) -> str:
    """Run a facegan command from this checkout; echo and return its output (it must succeed)."""
    command = [sys.executable, "-m", "facegan", *args]
    print("$ facegan " + " ".join(args), flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=_env())
    print(done.stdout[-3000:], end="", flush=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def met(report: dict) -> dict:
    return {"recognised": report["recognised"] >= TARGETS["recognised"],
            "all_digits_present": report["classes_present"] >= TARGETS["classes_present"],
            "none_above_20%": report["max_class_share"] <= TARGETS["max_class_share"]}


def row(name: str, r: dict) -> str:
    return (f"| {name} | {100 * r['recognised']:.1f}% | {r['classes_present']} | {100 * r['max_class_share']:.1f}% | "
            f"{r['entropy_bits']:.2f} | " + " ".join(f"{100 * p:.0f}" for p in r["class_shares"]) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=PRESETS["digits"]["minutes"], help="wall-clock budget")
    budget.add_argument("--epochs", type=int, help="train this many epochs, no time limit (machine-independent)")
    parser.add_argument("--data", default=SYNTHETIC_DIGITS, help="synthetic-digits (default) or an MNIST folder")
    parser.add_argument("--seed", type=int, default=0, help="the training seed")
    parser.add_argument("--work", default=str(ROOT / "bench" / "_work" / "digits"))
    parser.add_argument("--classifier-epochs", type=int, default=5)
    parser.add_argument("--n", type=int, default=10_000, help="samples the report classifies")
    parser.add_argument("--assets", help="write the figures here (e.g. assets)")
    parser.add_argument("--label", default="", help="a name for this measurement in the results file")
    parser.add_argument("--results", default=str(ROOT / "bench" / "results" / "digits_quality.jsonl"))
    parser.add_argument("train_flags", nargs="*", help="after --: more `facegan train` flags (a variant of the preset)")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    # 1. train: the user's command, with the time limit asked for
    runs = work / "runs"
    budget = ["--epochs", str(args.epochs), "--minutes", "0"] if args.epochs else ["--minutes", f"{args.minutes:g}"]
    watch = lib.Stopwatch()
    out = facegan("train", "--preset", "digits", "--data", args.data, *budget,
                  "--seed", str(args.seed), "--runs-dir", str(runs), "--no-progress", *args.train_flags)
    train_wall = watch.seconds()
    run = max(runs.iterdir(), key=lambda p: p.stat().st_mtime)
    done = next(line for line in out.splitlines() if line.startswith("done:"))
    steps = int(re.search(r"([\d,]+) steps? in", done).group(1).replace(",", ""))

    # 2. the judge: trained once per data set and kept in the work folder
    slug = re.sub(r"[^A-Za-z0-9]+", "-", args.data).strip("-")
    classifier = work / f"classifier-{slug}-e{args.classifier_epochs}.safetensors"
    if not classifier.is_file():
        facegan("digits", "classifier", "--data", args.data, "--epochs", str(args.classifier_epochs),
                "--out", str(classifier))
    model, info = fd.load_classifier(classifier)

    # 3. the report, with the real digits and an untrained generator as references
    G = load_generator(run)
    report = fd.score_generator(G, classifier, args.n, seed=0)
    count = build_config("digits").synthetic_count
    real = fd.load_labelled_digits(args.data, "test", count)
    ceiling = fd.recognisability(fd.probabilities(model, real.images))
    torch.manual_seed(args.seed)
    untrained = load_generator(run)  # the same architecture, its weights reset to a fresh init
    for module in untrained.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    floor = fd.recognisability(fd.probabilities(model, to_uint8(sample(untrained, args.n, 0))))
    targets = met(report)

    print(f"\n{done}\nclassifier: {classifier.name}, accuracy on {real.source}: "
          f"{100 * info['test_accuracy']:.2f}%")
    print("| generator | recognised | digits present | largest share | entropy (bits) | shares of 0..9 (%) |")
    print("|---|---|---|---|---|---|")
    length = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}" if args.epochs else f"{args.minutes:g} min"
    print(row(f"digits preset, {length}", report))
    print(row("held-out real digits (ceiling)", ceiling))
    print(row("untrained generator (floor)", floor))
    print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets.items()))

    record = {"label": args.label, "data": args.data, "minutes": None if args.epochs else args.minutes,
              "epochs": args.epochs, "seed": args.seed, "train_flags": args.train_flags, "steps": steps,
              "train_wall_s": round(train_wall, 1), "done": done, "run": str(run),
              "report": report, "ceiling_real_digits": ceiling, "floor_untrained": floor,
              "classifier": {"file": classifier.name, **info}, "targets_met": targets}
    lib.record(args.results, record, jsonl=True)
    print(f"appended to {args.results}")

    if args.assets:
        write_figures(Path(args.assets), run, G, model)


def write_figures(assets: Path, run: Path, G, model) -> None:
    """The digit figures of docs/vanilla-gan.md: the run's last grid and loss plot, and 2,000 samples judged by digit."""
    assets.mkdir(parents=True, exist_ok=True)
    last = sorted((run / "samples").glob("epoch_*.png"))[-1]
    shutil.copy(last, assets / "digits_grid.png")
    shutil.copy(run / "losses.png", assets / "digits_losses.png")
    samples = to_uint8(sample(G, 2000, 0))
    save_grid(fd.judged_grid(samples, fd.probabilities(model, samples)), assets / "digits_judged.png", nrow=10,
              scale=2)
    print(f"figures in {assets}/: digits_grid.png (from {last.name}), digits_losses.png, digits_judged.png")


if __name__ == "__main__":
    main()
