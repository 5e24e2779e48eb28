"""An experiment for the attribute classifier (not the shipped recipe unless the card says so): can the
small CNN student learn what a pretrained face network knows about age, if it is asked to reproduce that
network's features (a "hint", as in FitNets), instead of only its teachers' probabilities?

dlib's face-identity embedding with a logistic regression reaches a Young AUC of 0.888 on the held-out
faces against the CNN teachers' 0.860, but a student of soft labels that include it stays at 0.863
(bench/research/attributes_dlib.py): the labels say what to predict, not how to see it. Here the student (the
shipped recipe: two CNN teachers' mean probabilities on the unlabelled faces, labels on the labelled
ones) also regresses the 128-d dlib embedding of every training face from its pooled features, through
a linear layer dropped afterwards (`train_classifier(..., hint=(targets, weight))`); the shipped file
would stay the same small CNN and facegan would still never need dlib. (It shipped: the hint is now a
step of recipes/attributes.sh, its table written by recipes/dlib_hints.py.)

validate: on the TRAINING people of the report's split only (its held-out people are never read): fold 0
          of attributes_crossfit.py's identity folds (bench/research/attribute_folds.py) are the validation
          people; two teachers and the students (no hint, and a hint at each --weights) train on the other
          folds. The no-hint student repeats attributes_crossfit.py validate's "two teachers (shipped recipe)" rows
          with the same seeds; --baseline FILE takes those rows from its JSON instead of training it
          again (this script checks that its teachers' mean agrees to the last digit first).

    python bench/research/attributes_hint.py validate --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \\
        --unlabelled /tmp/facegan-attrs/unlabelled --unlabelled-ids faces64_train_manifest.csv \\
        --baseline bench/results/attributes_crossfit_validation_cpu2b.json \\
        --out bench/results/attributes_hint_validation_cpu2b.json
About 8 min for the teachers plus 7 min per student on 2 CPU cores; dlib's embeddings come from
recipes/dlib_hints.py's cache in --work (computed there, ~25 min, the first time).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for lib
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes"))  # for dlib_hints (the shipped recipe's)
import lib  # noqa: E402  (first: this checkout's facegan)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from attributes_crossfit import TABLE_HEADER, add_protocol_arguments, row, summary, validation_people  # noqa: E402
from dlib_hints import embeddings  # noqa: E402  (recipes/dlib_hints.py)

from facegan.editing.attribute_classifier import predict  # noqa: E402
from facegan.editing.attribute_training import train_classifier  # noqa: E402


def validate(args) -> None:
    faces, val_index, inner, _, images, files = validation_people(args)
    labelled_embedding = embeddings([faces.files[i] for i in inner.tolist()], faces.images[inner],
                                    args.work / "dlib_labelled.npz")
    unlabelled_embedding = embeddings(files, images, args.work / "dlib_unlabelled.npz")
    targets = torch.tensor(np.stack(list(labelled_embedding.values()) + list(unlabelled_embedding.values())),
                           dtype=torch.float32)  # (I + U, 128): inner labelled faces, then the unlabelled
    print(f"validation: {len(val_index):,} faces; training: {len(inner):,} labelled, {len(images):,} unlabelled",
          flush=True)
    x_val, y_val = faces.images[val_index], faces.labels[val_index]

    teachers = [train_classifier(faces, inner, epochs=args.epochs, seed=s, say=lambda _: None) for s in (0, 1)]
    soft = sum(predict(t, images) for t in teachers) / 2  # (U, A)
    results = {"two teachers: teachers' mean": summary(sum(predict(t, x_val) for t in teachers) / 2, y_val, faces.names)}
    print("teachers trained", flush=True)
    if args.baseline:
        stored = json.loads(args.baseline.read_text())["validation"]
        if stored["two teachers (shipped recipe): teachers' mean"]["report"] != results["two teachers: teachers' mean"]["report"]:
            raise SystemExit(f"{args.baseline}: its teachers' mean differs from these teachers': train the baseline here")
        results["student, no hint"] = stored["two teachers (shipped recipe): student"]
        print(f"student, no hint: from {args.baseline} (teachers identical)", flush=True)
    else:
        student = train_classifier(faces, inner, epochs=args.student_epochs, seed=2, say=lambda _: None,
                                   soft=(images, soft))
        results["student, no hint"] = summary(predict(student, x_val), y_val, faces.names)
    for weight in args.weights:
        student = train_classifier(faces, inner, epochs=args.student_epochs, seed=2, say=lambda _: None,
                                   soft=(images, soft), hint=(targets, weight))
        results[f"student, dlib hint x{weight:g}"] = summary(predict(student, x_val), y_val, faces.names)
        print(row(f"student, dlib hint x{weight:g}", results[f"student, dlib hint x{weight:g}"]), flush=True)

    print(TABLE_HEADER)
    for name, result in results.items():
        print(row(name, result))
    lib.record(args.out, {"validation": results, "validation_faces": len(val_index), "folds": args.folds,
                          "epochs": args.epochs, "student_epochs": args.student_epochs,
                          "split_seed": args.split_seed, "weights": args.weights})
    print(f"wrote {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("validate",))
    parser.add_argument("--data", required=True)
    parser.add_argument("--attrs", required=True)
    parser.add_argument("--unlabelled", type=Path, required=True)
    parser.add_argument("--unlabelled-ids", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON with the table (with lib.record's provenance)")
    parser.add_argument("--baseline", type=Path, help="attributes_crossfit.py validate's JSON: its no-hint student")
    parser.add_argument("--work", type=Path, default=Path("/tmp/facegan-attrs"), help="dlib embeddings' cache")
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 3.0], help="hint loss weights to try")
    add_protocol_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(2)
    validate(args)


if __name__ == "__main__":
    main()
