"""Would averaging each face with its mirror image (test-time flip) make the attribute classifier
better? Decided on a validation split of the TRAINING people only, like attributes_dlib.py (the
report's held-out people are never read): two CNNs (weight seeds 0 and 1, 40 epochs, the shipped
recipe's teachers) trained on the rest, each scored plainly and flip-averaged. An experiment, not shipped.

    python bench/research/attributes_flip.py --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \
        [--json bench/results/attributes_flip_validation_cpu2b.jsonl]     # ~9 min, 2 cores

The table it prints is bench/results/attributes_flip_validation_cpu2b.md (stdout of the run before --json
existed); --json records the same rows with lib.record's provenance.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for lib
import lib  # noqa: E402  (first: this checkout's facegan)
import numpy as np  # noqa: E402
from attributes_dlib import subset  # noqa: E402

from facegan.data.labels import load_labelled  # noqa: E402
from facegan.editing.attribute_classifier import predict  # noqa: E402
from facegan.editing.attribute_training import report, split_by_identity, train_classifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the labelled faces' root (as for facegan attributes train)")
    parser.add_argument("--attrs", required=True, help="their labels CSV")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--json", help="append the rows here (JSON lines, with lib.record's provenance)")
    args = parser.parse_args()
    faces = load_labelled(args.data, args.attrs)
    train_index, _ = split_by_identity(faces, 0.15, 0)  # the shipped report's split: its held-out people unread
    train = subset(faces, train_index)
    fit, val = split_by_identity(train, 0.15, 1)
    images, labels = train.images[val], train.labels[val]  # (V, 3, 64, 64) uint8, (V, A)
    print("| validation people | Male | Eyeglasses | Smiling | Young | mean of 40 |\n|---|---|---|---|---|---|")
    rows = []
    for seed in (0, 1):
        model = train_classifier(train, fit, epochs=args.epochs, seed=seed, say=lambda _: None)
        plain = predict(model, images)
        for label, p in (("plain", plain), ("flip-averaged", (plain + predict(model, images.flip(3))) / 2)):
            ba = {n: s["balanced_accuracy"] for n, s in report(p, labels, train.names).items()}
            print(f"| seed {seed}, {label} | {ba['Male']:.3f} | {ba['Eyeglasses']:.3f} | {ba['Smiling']:.3f} | "
                  f"{ba['Young']:.3f} | {np.mean(list(ba.values())):.4f} |", flush=True)
            rows.append({"bench": "attributes_flip", "seed": seed, "scoring": label, "epochs": args.epochs,
                         "validation_faces": len(val), "balanced_accuracy": ba,
                         "mean": float(np.mean(list(ba.values())))})
    if args.json:
        lib.record(args.json, rows, jsonl=True)


if __name__ == "__main__":
    main()
