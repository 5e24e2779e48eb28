"""An experiment for the attribute classifier (not the shipped recipe unless the card says so): do the
teachers lean towards an attribute's common side on people they never saw, and does a calibration
learnt out of fold fix it?

The shipped student calls 86% of the held-out young faces young but only 70% of the others "not young":
its p = 0.5 is balanced on the faces it trained on (positives weighted by the class ratio), not on new
people. Its teachers' soft labels on the unlabelled faces (new people to them) carry the same lean. Here,
on the TRAINING people of the report's split only (its held-out people are never read): split them into
K folds by identity, train one teacher per fold on the other folds (the shipped teachers' recipe), and
score every training face with the teacher that never saw its person (out of fold). Then per attribute:
  raw:        balanced accuracy of those out-of-fold probabilities at p = 0.5;
  calibrated: the same after a class-balanced Platt scaling (logistic regression of the label on the
              teacher's logit, scikit-learn) fitted on the other folds' out-of-fold scores (nested, so no
              face judges the calibration it was used to fit).
oof:      the above. Writes the fold teachers (each usable as `facegan attributes train --teacher`) and
          the out-of-fold probabilities to --work, the table to stdout and --out (JSON). ~22 min.
validate: the whole recipe, students included, with fold 0 of the training people as validation
          people and the other folds as the training faces: students of (a) two teachers on all of them
          (the shipped recipe), (b) one teacher per inner fold, (c) those calibrated out of fold. ~45 min.
student:  after oof, the student of oof's fold teachers calibrated out of fold, on all the training
          people (the shipped recipe's student otherwise: seed 2, --student-epochs, the unlabelled faces),
          scored once on the report's held-out people: the card's row "their student (--teacher
          fold0..4 --calibrate)", which `facegan attributes train --teacher ... --calibrate` made while
          the package had that flag. Writes the classifier to --student-out and its report to --out.
The folds and the calibration are bench/research/attribute_folds.py's. All on 2 CPU cores:
    python bench/research/attributes_crossfit.py oof --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \
        --out bench/results/attributes_crossfit_cpu2b.json
    python bench/research/attributes_crossfit.py validate --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \
        --unlabelled /tmp/facegan-attrs/unlabelled --unlabelled-ids faces64_train_manifest.csv \
        --out bench/results/attributes_crossfit_validation_cpu2b.json
    python bench/research/attributes_crossfit.py student --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \
        --unlabelled /tmp/facegan-attrs/unlabelled --unlabelled-ids faces64_train_manifest.csv \
        --out bench/results/attributes_crossfit_student_cpu2b.json
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for lib
import lib  # noqa: E402  (first: this checkout's facegan)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from attribute_folds import calibrate, calibrate_fold_teachers, fit_calibration, identity_folds  # noqa: E402

from facegan.data.labels import load_labelled  # noqa: E402
from facegan.editing.attribute_classifier import predict, save_classifier  # noqa: E402
from facegan.editing.attribute_training import (format_report, load_teacher, report, split_by_identity,  # noqa: E402
                                                split_digest, train_classifier)
from facegan.editing.distill import hint_targets, load_unlabelled  # noqa: E402


def rates(p: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(true-positive rate, true-negative rate) at p = 0.5 over the known labels."""
    known = ~y.isnan()
    p, y = p[known], y[known]
    return float(((p >= 0.5) & (y == 1)).sum() / (y == 1).sum()), float(((p < 0.5) & (y == 0)).sum() / (y == 0).sum())


TABLE_HEADER = ("| on validation people | Male | Eyeglasses | Smiling | Young (AUC) | Young TPR / TNR | mean of 40 |\n"
                "|---|---|---|---|---|---|---|")


def summary(p: torch.Tensor, y: torch.Tensor, names: tuple[str, ...]) -> dict:
    """The report of probabilities p (N, A) against labels y, their mean balanced accuracy and Young's rates."""
    scores = report(p, y, names)
    young = names.index("Young")
    return {"report": scores, "mean": float(np.mean([s["balanced_accuracy"] for s in scores.values()])),
            "young_rates": rates(p[:, young], y[:, young])}


def row(name: str, result: dict) -> str:
    """One TABLE_HEADER row of a summary()."""
    r = result["report"]
    ba = {n: r[n]["balanced_accuracy"] for n in ("Male", "Eyeglasses", "Smiling", "Young")}
    tpr, tnr = result["young_rates"]
    return (f"| {name} | {ba['Male']:.3f} | {ba['Eyeglasses']:.3f} | {ba['Smiling']:.3f} | {ba['Young']:.3f} "
            f"({r['Young']['auc']:.3f}) | {tpr:.2f} / {tnr:.2f} | {result['mean']:.4f} |")


def validation_people(args):
    """The validation protocol on the report split's TRAINING people (its held-out people are never read):
    (faces, val_index, inner, inner_fold, unlabelled images, their files), where fold 0 of the identity
    folds are the validation people, the other folds (inner, with their fold numbers) the training faces,
    and the unlabelled faces leave out every photo of a held-out or validation person."""
    faces = load_labelled(args.data, args.attrs)
    train_index, held_index = split_by_identity(faces, args.holdout, args.split_seed)
    fold = identity_folds(faces, train_index, args.folds, args.split_seed)
    val_index, inner, inner_fold = train_index[fold == 0], train_index[fold != 0], fold[fold != 0]
    images, files = load_unlabelled(str(args.unlabelled), faces, torch.cat([held_index, val_index]),
                                    str(args.unlabelled_ids))
    return faces, val_index, inner, inner_fold, images, files


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """The split, folds and epochs both validation benches share."""
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40, help="teachers' epochs")
    parser.add_argument("--student-epochs", type=int, default=16)
    parser.add_argument("--holdout", type=float, default=0.15)
    parser.add_argument("--split-seed", type=int, default=0)


def oof(args) -> None:
    """Fold teachers on the training people, their out-of-fold balanced accuracy raw and calibrated."""
    faces = load_labelled(args.data, args.attrs)
    train_index, held_index = split_by_identity(faces, args.holdout, args.split_seed)  # held-out people: unread
    digest = split_digest(faces, held_index)  # lets the fold teachers teach a student of this split
    fold = identity_folds(faces, train_index, args.folds, args.split_seed)  # (T,)
    oof = torch.full((len(train_index), len(faces.names)), float("nan"))  # (T, A) out-of-fold probabilities
    for k in range(args.folds):
        path = args.work / f"fold{k}.safetensors"
        fit_index, val_index = train_index[fold != k], train_index[fold == k]
        model = train_classifier(faces, fit_index, epochs=args.epochs, seed=k, say=lambda _: None)
        # the metadata `facegan attributes train --fold k/N --seed k` wrote (less its held-out report, not made here)
        save_classifier(model, path, faces.names, {"data": faces.source, "train_images": len(fit_index),
                                                   "epochs": args.epochs, "seed": k, "holdout": args.holdout,
                                                   "split_seed": args.split_seed, "split_digest": digest,
                                                   "fold": [k, args.folds]})
        oof[fold == k] = predict(model, faces.images[val_index])
        print(f"fold {k}: trained on {len(fit_index):,}, scored {len(val_index):,} -> {path}", flush=True)
    labels = faces.labels[train_index]  # (T, A)
    torch.save({"train_index": train_index, "fold": fold, "oof": oof}, args.work / "oof.pt")

    calibrated = torch.full_like(oof, float("nan"))
    for k in range(args.folds):  # nested: fold k's faces through a calibration fitted on the other folds
        calibrated[fold == k] = calibrate(oof[fold == k], fit_calibration(oof[fold != k], labels[fold != k]))
    raw, cal = report(oof, labels, faces.names), report(calibrated, labels, faces.names)
    print("| attribute | raw | calibrated | raw TPR / TNR | calibrated TPR / TNR |\n|---|---|---|---|---|")
    table = {}
    for a, name in enumerate(faces.names):
        if name not in raw:
            continue
        r, c = rates(oof[:, a], labels[:, a]), rates(calibrated[:, a], labels[:, a])
        table[name] = {"raw": raw[name], "calibrated": cal[name], "raw_rates": r, "calibrated_rates": c}
        print(f"| {name} | {raw[name]['balanced_accuracy']:.3f} | {cal[name]['balanced_accuracy']:.3f} | "
              f"{r[0]:.2f} / {r[1]:.2f} | {c[0]:.2f} / {c[1]:.2f} |")
    means = {k: float(np.mean([s["balanced_accuracy"] for s in v.values()])) for k, v in (("raw", raw), ("calibrated", cal))}
    print(f"mean balanced accuracy: raw {means['raw']:.4f}, calibrated {means['calibrated']:.4f}")
    lib.record(args.out, {"table": table, "means": means, "folds": args.folds, "epochs": args.epochs,
                          "split_seed": args.split_seed, "training_faces": len(train_index)})
    print(f"wrote {args.out}")


def validate(args) -> None:
    """The whole recipe, students included, with fold 0 of the training people as validation people:
    students of (a) two teachers on all the other folds (the shipped recipe), (b) one teacher per other
    fold, (c) the same teachers calibrated out of fold; all scored on the validation people."""
    faces, val_index, inner, inner_fold, images, _ = validation_people(args)
    print(f"validation: {len(val_index):,} faces; inner folds: {len(inner):,}; unlabelled: {len(images):,}", flush=True)
    quiet = dict(epochs=args.epochs, say=lambda _: None)

    oof_p = torch.full((len(inner), len(faces.names)), float("nan"))  # (I, A)
    fold_teachers = []
    for k in range(1, args.folds):
        model = train_classifier(faces, inner[inner_fold != k], seed=k, **quiet)
        oof_p[inner_fold == k] = predict(model, faces.images[inner[inner_fold == k]])
        fold_teachers.append(model)
        print(f"inner fold teacher {k} trained", flush=True)
    calibration = fit_calibration(oof_p, faces.labels[inner])
    two = [train_classifier(faces, inner, seed=s, **quiet) for s in (0, 1)]
    print("two teachers trained", flush=True)

    def mean_of(models, x, calibrated=False):
        return sum(calibrate(predict(m, x), calibration) if calibrated else predict(m, x) for m in models) / len(models)

    x_val, y_val = faces.images[val_index], faces.labels[val_index]
    recipes = {"two teachers (shipped recipe)": (two, False), "fold teachers": (fold_teachers, False),
               "fold teachers, calibrated": (fold_teachers, True)}
    results = {}
    for name, (models, calibrated) in recipes.items():
        results[f"{name}: teachers' mean"] = mean_of(models, x_val, calibrated)
        student = train_classifier(faces, inner, epochs=args.student_epochs, seed=2, say=lambda _: None,
                                   soft=(images, mean_of(models, images, calibrated)))
        results[f"{name}: student"] = predict(student, x_val)
        print(f"student of {name} trained", flush=True)

    print(TABLE_HEADER)
    table = {}
    for name, p in results.items():
        table[name] = summary(p, y_val, faces.names)
        print(row(name, table[name]))
    lib.record(args.out, {"validation": table, "validation_faces": len(val_index), "folds": args.folds,
                          "epochs": args.epochs, "student_epochs": args.student_epochs, "split_seed": args.split_seed})
    print(f"wrote {args.out}")


def student(args) -> None:
    """The student of oof's fold teachers, calibrated out of fold, on all the training people; its report on
    the held-out people (what `facegan attributes train --teacher fold0..4 --calibrate` computed)."""
    faces = load_labelled(args.data, args.attrs)
    train_index, held_index = split_by_identity(faces, args.holdout, args.split_seed)
    digest = split_digest(faces, held_index)
    teachers = [str(args.work / f"fold{k}.safetensors") for k in range(args.folds)]
    images, files = load_unlabelled(str(args.unlabelled), faces, held_index,
                                    str(args.unlabelled_ids) if args.unlabelled_ids else None)
    calibration = calibrate_fold_teachers(teachers, faces, train_index, args.split_seed, digest)
    soft = sum(calibrate(predict(load_teacher(t, faces.names, digest)[0], images), calibration)
               for t in teachers) / len(teachers)  # (U, A): the mean of the calibrated teachers
    hint = None
    if args.hint:
        hint = (hint_targets(args.hint, [faces.files[i] for i in train_index.tolist()] + files), args.hint_weight)
    model = train_classifier(faces, train_index, epochs=args.student_epochs, seed=args.seed, soft=(images, soft),
                             hint=hint)
    scores = report(predict(model, faces.images[held_index]), faces.labels[held_index], faces.names)
    info = {"data": faces.source, "train_images": len(train_index), "held_out_images": len(held_index),
            "epochs": args.student_epochs, "seed": args.seed, "holdout": args.holdout, "split_seed": args.split_seed,
            "split_digest": digest, "held_out": scores, "unlabelled_images": len(images),
            "teachers": [Path(t).name for t in teachers], "calibrated_teachers": True}
    if hint is not None:
        info["hint"] = {"table": Path(args.hint).name, "weight": args.hint_weight, "features": hint[0].shape[1]}
    save_classifier(model, args.student_out, faces.names, info)
    print(format_report(scores))
    mean = float(np.mean([s["balanced_accuracy"] for s in scores.values()]))
    lib.record(args.out, {"held_out": scores, "mean": mean, "classifier": str(args.student_out),
                          **{k: v for k, v in info.items() if k != "held_out"}})
    print(f"mean balanced accuracy over {len(scores)} attributes: {mean:.4f}\nwrote {args.student_out}, {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("oof", "validate", "student"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--attrs", required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON with the tables (with lib.record's provenance)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/facegan-attrs/crossfit"),
                        help="oof writes the fold teachers here; student reads them")
    parser.add_argument("--unlabelled", type=Path, help="validate, student: the unlabelled faces' folder")
    parser.add_argument("--unlabelled-ids", type=Path, help="validate, student: their identities (manifest CSV)")
    parser.add_argument("--seed", type=int, default=2, help="student: its weight seed (the shipped recipe's: 2)")
    parser.add_argument("--hint", help="student: a hint table (recipes/dlib_hints.py), as the shipped recipe has")
    parser.add_argument("--hint-weight", type=float, default=1.0)
    parser.add_argument("--student-out", type=Path, default=Path("/tmp/facegan-attrs/crossfit/student_calibrated.safetensors"),
                        help="student: the classifier file to write")
    add_protocol_arguments(parser)
    args = parser.parse_args()
    if args.command in ("validate", "student") and args.unlabelled is None:
        parser.error(f"{args.command} needs --unlabelled (and --unlabelled-ids)")
    torch.set_num_threads(2)
    args.work.mkdir(parents=True, exist_ok=True)
    {"oof": oof, "validate": validate, "student": student}[args.command](args)


if __name__ == "__main__":
    main()
