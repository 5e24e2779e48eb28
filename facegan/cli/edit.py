"""facegan attributes | directions | edit | project: faces you can dial, including your own photo."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from facegan.cli.common import Command, Parents, Parser, generator_and_device, seed_list
from facegan.editing.names import friendly_help, parse_edits, parse_names
from facegan.errors import FaceganError, require_int_at_least
from facegan.fileio import shipped_model

DEFAULT_CLASSIFIER = str(shipped_model("attributes.safetensors"))


def add_attributes_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    attributes = sub.add_parser("attributes", help="the face-attribute classifier: train it, score images with it")
    attr_sub = attributes.add_subparsers(dest="attr_command", required=True, parser_class=Parser)
    attr_train = attr_sub.add_parser("train", help="train on labelled faces, report on a held-out split, save",
                                     description="A small CNN predicting each labelled attribute (CelebA's 40). "
                                                 "Held-out split by identity where the labels give one.")
    attr_train.add_argument("--data", default="synthetic",
                            help="a folder of faces (with --attrs) or 'synthetic' (labels known; default)")
    attr_train.add_argument("--attrs", help="labels: CelebA's list_attr_celeba.txt, or a CSV member,[celeba_identity,]"
                                            "<attribute names> with -1/1 values; matched to files by path or name")
    attr_train.add_argument("--out", default="attributes.safetensors", help="classifier file to write")
    attr_train.add_argument("--epochs", type=int, default=20, help="passes over the training split (default 20)")
    attr_train.add_argument("--width", type=int, default=32, help="channels of the first stage; 8x at the last "
                                                                   "(default 32)")
    attr_train.add_argument("--holdout", type=float, default=0.15, help="share of people held out (default 0.15)")
    attr_train.add_argument("--seed", type=int, default=0, help="seed for the weights and order, and the split unless "
                                                                 "--split-seed (default 0)")
    attr_train.add_argument("--split-seed", type=int, help="seed for the held-out people (default: --seed)")
    attr_train.add_argument("--unlabelled", metavar="DIR", help="faces without labels to distil the --teacher "
                            "models on (their mean probabilities as soft labels), beside the labelled faces")
    attr_train.add_argument("--unlabelled-ids", metavar="CSV", help="identities of the unlabelled faces (columns "
                            "member, celeba_identity): held-out people's photos are left out of them")
    attr_train.add_argument("--teacher", action="append", default=[], metavar="FILE",
                            help="a classifier trained with the same --holdout and split, or a scores CSV (a key "
                                 "column matched by file name, then some attributes' probabilities, e.g. from "
                                 "`attributes score`); repeat for an ensemble: each attribute's soft label is the "
                                 "mean of the teachers that give it")
    attr_train.add_argument("--hint", metavar="CSV", help="features of every training face, labelled and "
                            "unlabelled (member, then one column per feature: e.g. a pretrained face network's "
                            "embedding from recipes/dlib_hints.py), which the classifier also learns to "
                            "predict while training, so its own features learn what that network sees")
    attr_train.add_argument("--hint-weight", type=float,
                            help="weight of the --hint loss against the attributes' (default 1)")
    attr_score = attr_sub.add_parser("score", parents=[parents.device],
                                     help="attribute probabilities per image or per generated face, as CSV")
    attr_score.add_argument("--classifier", required=True, help="a file from facegan attributes train")
    attr_score.add_argument("--data", required=True,
                            help="a folder of images (one row per file) or a generator / run directory "
                                 "(one row per seed)")
    attr_score.add_argument("--n", type=int, default=64, help="generator: faces to score (default 64)")
    attr_score.add_argument("--seed", type=int, default=0, help="generator: first seed (default 0)")
    attr_score.add_argument("--out", default="scores.csv", help="CSV to write (default scores.csv)")
    return attributes


def prepare_attributes(args: argparse.Namespace) -> None:
    if args.attr_command == "score":
        require_int_at_least("--n", args.n)
        return
    require_int_at_least("--epochs", args.epochs)
    require_int_at_least("--width", args.width)
    if not 0 < args.holdout < 1:
        raise FaceganError(f"--holdout is a share of people, between 0 and 1 (got {args.holdout})")
    if bool(args.unlabelled) != bool(args.teacher):
        raise FaceganError("distillation needs both --unlabelled DIR and at least one --teacher FILE")
    if args.hint_weight is not None and not args.hint:
        raise FaceganError("--hint-weight weighs the --hint features: give their table (--hint CSV) too")
    args.hint_weight = 1.0 if args.hint_weight is None else args.hint_weight
    if not (args.hint_weight > 0 and math.isfinite(args.hint_weight)):
        raise FaceganError(f"--hint-weight is a positive number (got {args.hint_weight})")


def run_attributes(args: argparse.Namespace) -> None:
    from facegan.editing.attribute_commands import score_source, train_and_report

    if args.attr_command == "train":
        train_and_report(args.data, args.attrs, args.out, args.epochs, args.holdout, args.seed, args.width,
                         split_seed=args.split_seed, unlabelled=args.unlabelled, unlabelled_ids=args.unlabelled_ids,
                         teachers=args.teacher, hint=args.hint, hint_weight=args.hint_weight)
    else:
        from facegan.training.device import pick_device

        path = score_source(args.classifier, args.data, args.out, args.n, args.seed, pick_device(args.device))
        print(f"wrote {path}")


def add_directions_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    directions = sub.add_parser("directions", parents=[parents.generator],
                                help="fit edit directions (age, smile, ...) in a generator's latent space",
                                description="Score many generated faces with the attribute classifier, fit one "
                                            "linear direction per attribute on the most and least confident "
                                            "(InterFaceGAN; z for DCGAN, w for StyleGAN2), add SeFa's "
                                            "unsupervised directions, and save them beside the generator.")
    directions.add_argument("--classifier", default=DEFAULT_CLASSIFIER,
                            help=f"attribute classifier (default the shipped {DEFAULT_CLASSIFIER})")
    directions.add_argument("--n", type=int, default=20_000, help="faces sampled and scored (default 20000)")
    directions.add_argument("--share", type=float, default=0.05,
                            help="share of the most and of the least confident faces fitted (default 0.05)")
    directions.add_argument("--method", choices=["svm", "logistic"], default="svm",
                            help="linear SVM or logistic regression, from scikit-learn (default svm)")
    directions.add_argument("--attributes", help="CelebA attributes or friendly names, comma-separated "
                                                 "(default: every attribute a friendly name uses)")
    directions.add_argument("--sefa", type=int, default=8, help="unsupervised SeFa directions to add (default 8)")
    directions.add_argument("--seed", type=int, default=0, help="seed of the sampled faces and the fit (default 0)")
    directions.add_argument("--out", help="file to write (default: beside the generator, "
                                          "NAME.directions.safetensors)")
    return directions


def prepare_directions(args: argparse.Namespace) -> None:
    require_int_at_least("--n", args.n, minimum=100)
    if not 0 < args.share <= 0.5:
        raise FaceganError(f"--share is the share of faces on each side, in (0, 0.5] (got {args.share})")
    if args.sefa < 0:
        raise FaceganError(f"--sefa must be 0 or more (got {args.sefa})")
    if args.attributes is not None:
        args.attributes = parse_names("--attributes", args.attributes)


def run_directions(args: argparse.Namespace) -> None:
    from facegan.editing.attribute_classifier import load_classifier
    from facegan.editing.directions import directions_path, fit_directions, save_directions
    from facegan.editing.names import EDITABLE_ATTRIBUTES, resolve_name

    G, device = generator_and_device(args)
    classifier, names, _ = load_classifier(args.classifier, device)
    attributes = (tuple(dict.fromkeys(resolve_name(a)[0] for a in args.attributes)) if args.attributes
                  else EDITABLE_ATTRIBUTES)
    directions = fit_directions(G, classifier, names, attributes, args.n, args.share, args.method, args.sefa, args.seed)
    directions.info["classifier"] = str(args.classifier)
    out = save_directions(directions, args.out or directions_path(args.generator))
    print(f"wrote {len(directions.names)} directions in {directions.space} to {out}")


def add_edit_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    edit = sub.add_parser("edit", parents=[parents.shows_faces, parents.truncation],
                          help="edit faces along attribute directions: --edit age=+2,smile=-1 or --strip age",
                          description="Strengths are in standard deviations of the generated faces along the "
                                      "direction (+-3 spans nearly all). Names: " + friendly_help() +
                                      "; or any CelebA attribute name, or sefa-N.")
    source = edit.add_mutually_exclusive_group()
    source.add_argument("--seed", default="0", help="a seed or comma-separated seeds, one row each (default 0)")
    source.add_argument("--latent", metavar="FILE", help="a latent.safetensors from facegan project")
    what = edit.add_mutually_exclusive_group(required=True)
    what.add_argument("--edit", help="name=strength pairs, e.g. age=+2,smile=-1: each row is before | after")
    what.add_argument("--strip", metavar="NAME", help="one attribute from -STRENGTH to +STRENGTH along each row")
    edit.add_argument("--strength", type=float, default=3.0, help="--strip: the largest strength (default 3)")
    edit.add_argument("--steps", type=int, default=7, help="--strip: faces per row (default 7)")
    edit.add_argument("--condition", help="attributes to keep: their directions are projected out of the edit, "
                                          "e.g. gender (comma-separated)")
    edit.add_argument("--directions", help="directions file (default: the one beside the generator)")
    edit.add_argument("--out", default="edit.png", help="PNG to write (default edit.png)")
    edit.add_argument("--gif", metavar="PATH", help="--strip: also an animated GIF of the first row")
    return edit


def prepare_edit(args: argparse.Namespace) -> None:
    args.seed = seed_list("--seed", args.seed)
    args.edit = parse_edits(args.edit) if args.edit is not None else None
    if args.strip is not None:
        parse_names("--strip", args.strip)
    args.condition = parse_names("--condition", args.condition) if args.condition is not None else []
    require_int_at_least("--steps", args.steps, minimum=2)
    if args.strength <= 0:
        raise FaceganError(f"--strength must be above 0 (got {args.strength})")
    if args.gif and args.strip is None:
        raise FaceganError("--gif animates a --strip; give --strip NAME (or leave --gif out)")


def run_edit(args: argparse.Namespace) -> None:
    import torch

    from facegan.editing.directions import directions_path, edit_codes, load_directions, load_latent, strip_codes
    from facegan.editing.names import resolve_name
    from facegan.latent import codes_for_seeds, render
    from facegan.viz import save_gif, save_grid

    G, _ = generator_and_device(args)
    directions = load_directions(args.directions or directions_path(args.generator), G)
    if args.latent:
        codes, rows = load_latent(args.latent, G), f"the face of {args.latent}"
    else:
        codes, rows = codes_for_seeds(G, args.seed, args.truncation), f"seed {','.join(map(str, args.seed))}"
    if args.edit:
        edited = edit_codes(codes, directions, args.edit, args.condition)
        faces = render(G, torch.stack([codes, edited], dim=1).flatten(0, 1))  # per row: before, after
        save_grid(faces, args.out, nrow=2)
        what = ", ".join(f"{name} {strength:+g}" for name, strength in args.edit.items())
    else:
        resolve_name(args.strip)
        strengths = torch.linspace(-args.strength, args.strength, args.steps)
        faces = render(G, torch.cat([strip_codes(code, directions, args.strip, strengths, args.condition)
                                     for code in codes]))
        save_grid(faces, args.out, nrow=args.steps)
        what = f"{args.strip} from {-args.strength:g} to {args.strength:+g}"
        if args.gif:
            save_gif(faces[:args.steps], args.gif)
            print(f"wrote {args.gif}")
    kept = f", keeping {', '.join(args.condition)}" if args.condition else ""
    print(f"wrote {rows}: {what}{kept} to {args.out}")


def add_project_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    project = sub.add_parser("project", parents=[parents.shows_faces],
                             help="find your own photo in a generator's latent space, to edit it",
                             description="Centre-crops the photo to a square, resizes it to the generator's size "
                                         "and optimises a latent whose face matches it (pixel + perceptual loss). "
                                         "Writes OUT/latent.safetensors (for facegan edit --latent), "
                                         "OUT/target.png and OUT/reconstruction.png.")
    project.add_argument("photo", help="a face photo (JPEG, PNG, ...), at least 64 px, roughly square")
    project.add_argument("--out", default="projection", help="folder to write (default projection)")
    project.add_argument("--space", choices=["z", "w", "w+"],
                         help="z (DCGAN), w or w+ (style generators; w+ = one w per layer, the closer fit) "
                              "(default z or w+)")
    project.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    project.add_argument("--classifier", default=DEFAULT_CLASSIFIER,
                         help="network for the perceptual loss (default the shipped attribute classifier; "
                              "'none' for pixels only)")
    project.add_argument("--seed", type=int, default=0, help="seed of the starting candidates (default 0)")
    return project


def prepare_project(args: argparse.Namespace) -> None:
    require_int_at_least("--steps", args.steps)


def run_project(args: argparse.Namespace) -> None:
    from facegan.editing.attribute_classifier import load_classifier
    from facegan.editing.directions import save_latent
    from facegan.editing.projection import load_photo, project, reconstruction_quality
    from facegan.viz import save_grid

    G, device = generator_and_device(args)
    target = load_photo(args.photo, G.resolution)  # checks the photo before any optimisation
    classifier = None if args.classifier == "none" else load_classifier(args.classifier, device)[0]
    code, face, history = project(G, target, classifier, args.space, args.steps, seed=args.seed)
    quality = reconstruction_quality(face, target)
    out = Path(args.out)
    save_latent(out / "latent.safetensors", code, G, {"photo": str(args.photo), "steps": args.steps,
                                                      "loss": history[-1], **quality})
    save_grid(target, out / "target.png")
    save_grid(face, out / "reconstruction.png")
    print(f"reconstruction PSNR {quality['psnr']:.2f} dB, SSIM {quality['ssim']:.3f}; wrote {out}/latent.safetensors, "
          f"target.png, reconstruction.png (edit it: facegan edit --generator {args.generator} "
          f"--latent {out}/latent.safetensors --strip smile)")


def add_bias_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    bias = sub.add_parser("bias", parents=[parents.shows_faces],
                          help="attribute shares of a generator's faces against its training data (a bias report)",
                          description="Scores N generated faces with the attribute classifier and, given labelled "
                                      "real faces (--data DIR --attrs FILE), the real ones too: per attribute the "
                                      "share of each with 95%% Wilson intervals, the generator's gap (same "
                                      "classifier on both) and the classifier's own bias (its share on real faces "
                                      "against their labels).")
    bias.add_argument("--classifier", default=DEFAULT_CLASSIFIER,
                      help=f"attribute classifier (default the shipped {DEFAULT_CLASSIFIER})")
    bias.add_argument("--n", type=int, default=10_000, help="generated faces scored (default 10000)")
    bias.add_argument("--seed", type=int, default=0, help="seed of the generated faces (default 0)")
    bias.add_argument("--data", help="a folder of real faces (the training data, or a held-out part of it)")
    bias.add_argument("--attrs", help="their labels: CelebA's list_attr_celeba.txt or a CSV (with --data)")
    bias.add_argument("--all", action="store_true", help="all 40 attributes (default: the 18 the cards list)")
    bias.add_argument("--out", help="also write the markdown table here")
    bias.add_argument("--json", help="also write every figure here (JSON)")
    return bias


def prepare_bias(args: argparse.Namespace) -> None:
    require_int_at_least("--n", args.n, minimum=100)
    if bool(args.data) != bool(args.attrs):
        raise FaceganError("--data and --attrs go together: a folder of real faces and their labels")


def run_bias(args: argparse.Namespace) -> None:
    import json

    from facegan.editing.bias import REPORTED, bias_report, markdown_table
    from facegan.fileio import write_text_atomic

    G, device = generator_and_device(args)
    report = bias_report(G, args.classifier, args.n, args.seed, device, args.data, args.attrs)
    if report.real_source is not None:
        print(f"real faces: {report.real_source}")
    table = markdown_table(report.rows, None if args.all else REPORTED)
    print(f"{args.n:,} faces of {args.generator}, scored by {args.classifier} (share above 0.5, 95% Wilson intervals; "
          "gap in points, * where the intervals do not overlap):")
    print(table)
    if args.out:
        write_text_atomic(args.out, table + "\n")
    if args.json:
        write_text_atomic(args.json, json.dumps({"generator": str(args.generator), "n": args.n, "seed": args.seed,
                                                 "data": args.data, "rows": report.rows}, indent=1) + "\n")


COMMANDS = [Command("attributes", add_attributes_parser, prepare_attributes, run_attributes),
            Command("directions", add_directions_parser, prepare_directions, run_directions),
            Command("edit", add_edit_parser, prepare_edit, run_edit),
            Command("project", add_project_parser, prepare_project, run_project),
            Command("bias", add_bias_parser, prepare_bias, run_bias)]
