"""The digits preset against its targets (issue 15): `facegan train --preset digits` for 5 minutes on the
built-in digits, then the digit classifier's report on 10,000 of its samples.

    python bench/digits_quality.py [--minutes 5] [--data synthetic-digits | path/to/mnist] [--seed 0]
        [--work bench/_work/digits] [--classifier-epochs 5] [--assets assets] [--label NAME]
        [-- more facegan train flags, e.g. --mlp-hidden 128,256,512]

It runs the user's own commands, in this order, each in a fresh process:

1. `facegan train --preset digits --data DATA --minutes M` (the time limit counts training only; the
   built-in digits are rendered and cached before it starts, as in any first run);
2. `facegan digits classifier --data DATA` (skipped when WORK already holds a classifier for DATA);
3. the report (`facegan digits score`): the share of samples recognised (p >= 0.9), the share of each
   digit among them, their entropy and the largest share, with two references through the same
   classifier: held-out real digits (what a perfect generator would score) and an untrained generator
   of the same architecture (what noise scores).

Targets (built-in digits, 5 minutes on 2 CPU cores): >= 80% recognised, all 10 digits present (each >= 1%
of the recognised), none above 20%. Prints a table, appends a JSON line to bench/results/digits_quality.jsonl
and, with --assets DIR, writes DIR/digits_grid.png (the last per-epoch grid), DIR/digits_losses.png and
DIR/digits_judged.png (recognised samples by digit, one row per digit, then a row not recognised).
Run nothing else on the machine meanwhile: the time limit is wall-clock.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's facegan, also when run as a script

from facegan.config import PRESETS, build_config  # noqa: E402
from facegan.data import SYNTHETIC_DIGITS
from facegan.data.images import to_uint8  # noqa: E402
from facegan.evaluation import digits as fd  # noqa: E402
from facegan.latent import sample  # noqa: E402
from facegan.training.state import load_generator  # noqa: E402
from facegan.viz import save_grid  # noqa: E402

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
    import os

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
    parser.add_argument("--minutes", type=float, default=PRESETS["digits"]["minutes"])
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
    start = time.perf_counter()
    out = facegan("train", "--preset", "digits", "--data", args.data, "--minutes", f"{args.minutes:g}",
                  "--seed", str(args.seed), "--runs-dir", str(runs), "--no-progress", *args.train_flags)
    train_wall = time.perf_counter() - start
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
    print(row(f"digits preset, {args.minutes:g} min", report))
    print(row("held-out real digits (ceiling)", ceiling))
    print(row("untrained generator (floor)", floor))
    print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets.items()))

    record = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "label": args.label,
              "data": args.data, "minutes": args.minutes, "seed": args.seed, "train_flags": args.train_flags,
              "steps": steps,
              "train_wall_s": round(train_wall, 1), "done": done, "run": str(run),
              "report": report, "ceiling_real_digits": ceiling, "floor_untrained": floor,
              "classifier": {"file": classifier.name, **info}, "targets_met": targets,
              "machine": {"python": platform.python_version(), "torch": torch.__version__,
                          "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                          "threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine()}}
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(f"appended to {args.results}")

    if args.assets:
        assets = Path(args.assets)
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
