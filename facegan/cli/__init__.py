"""facegan's command line: train | sample | interpolate | mix | eval | attributes | directions | edit | project |
import | digits | download. Thin: parse, then call the package.

Training flags are generated from :class:`facegan.config.TrainConfig` (no second list of defaults):
a flag that is not given keeps the preset's or dataclass's value.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from facegan.config import (DEFAULT_EVAL_SAMPLES, DEFAULT_METRICS, DEVICE_HELP, DEVICE_PATTERN, METRIC_NAMES,
                             PRESET_CHOICES, PRESETS, build_config, fields, parse_metric_names)
from facegan.data import DEFAULT_CELEBA_DIR, DEFAULT_MNIST_DIR, SYNTHETIC_COUNT, SYNTHETIC_DIGITS

# Only torch-free modules at import time: every argument check below runs before a command imports
# torch (3-4 s), so a mistake is reported at once. Heavy modules are imported inside the commands.
from facegan.editing.names import friendly_help, parse_edits, parse_names
from facegan.errors import FaceganError, require_int_at_least
from facegan.fileio import GENERATOR_FILE, export_path, shipped_model
from facegan.interop.pretrained import IMPORT_KINDS, PRETRAINED

DIGITS_COUNT = PRESETS["digits"]["synthetic_count"]  # the built-in digits the digits preset trains on


class _Parser(argparse.ArgumentParser):
    """Bad arguments -> one line (what was wrong, where to look), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training config (defaults: the preset, then TrainConfig)")
    for f in fields():
        if f.name == "preset":
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} (default {f.default!r})"
        if f.type == "bool":
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=help_text)
        else:
            group.add_argument(flag, dest=f.name, type={"int": int, "float": float, "str": str}[f.type],
                               choices=f.metadata["choices"], default=argparse.SUPPRESS, help=help_text,
                               metavar=f.name.upper() if not f.metadata["choices"] else None)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="facegan", description="Face generation with GANs: train, sample, interpolate, mix, eval, "
                                                 "attributes, directions, edit, project, import, digits, download.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a GAN (dcgan, stylegan2 or mlp); one run directory per run",
                           description="Train a GAN. Without flags: the CelebA subset if present "
                                       "(else built-in synthetic faces), preset auto.")
    train.add_argument("--preset", choices=PRESET_CHOICES,
                       help="auto = paper on cuda/mps, quick on cpu (default auto); stylegan, stylegan-cpu: "
                            "StyleGAN2 for a GPU / a CPU; digits: the vanilla MLP GAN on 28x28 digits")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest checkpoint "
                                                           "(only --epochs and --device may change)")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_config_flags(train)

    # --device and --generator, shared by the commands that run a network (declared once)
    uses_device = argparse.ArgumentParser(add_help=False)
    uses_device.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    uses_generator = argparse.ArgumentParser(add_help=False, parents=[uses_device])
    uses_generator.add_argument("--generator", required=True, metavar="PATH",
                                help=f"a run directory (its {GENERATOR_FILE} is used) or a {GENERATOR_FILE} file")

    truncates = argparse.ArgumentParser(add_help=False)
    truncates.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                           help="style generators: pull each face towards the average face, 0 = the average, "
                                "1 = none (default 1; 0.7 is a common choice)")

    sample = sub.add_parser("sample", parents=[uses_generator, truncates], help="draw faces from a trained generator")
    sample.add_argument("--n", type=int, default=64, help="how many faces (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="the same seed gives the same faces (default 0)")
    out = sample.add_mutually_exclusive_group()
    out.add_argument("--out", default="faces.png", help="grid PNG to write (default faces.png)")
    out.add_argument("--separate", metavar="DIR", help="write one PNG per face into DIR instead of a grid")
    sample.add_argument("--nrow", type=int, help="faces per grid row (default: square)")

    interp = sub.add_parser("interpolate", parents=[uses_generator, truncates],
                            help="a strip of faces along a latent path between two seeds")
    interp.add_argument("--seed-a", type=int, default=0, help="seed of the first face (default 0)")
    interp.add_argument("--seed-b", type=int, default=1, help="seed of the last face (default 1)")
    interp.add_argument("--steps", type=int, default=10, help="faces in the strip (default 10)")
    interp.add_argument("--space", choices=["z", "w"], default="z",
                        help="z: slerp between the latents; w: a straight line between their styles "
                             "(style generators) (default z)")
    interp.add_argument("--out", default="interpolation.png", help="strip PNG to write (default interpolation.png)")
    interp.add_argument("--gif", metavar="PATH", help="also an animated GIF of the path, there and back")

    mix = sub.add_parser("mix", parents=[uses_generator, truncates],
                         help="the style-mixing figure of a style generator (stylegan2)",
                         description="Top row: the column seeds' faces (A). Each further row: a row seed's face "
                                     "(B), then every A with B's styles at one group of layers: coarse (4-8 px: "
                                     "pose, face shape), middle (16-32 px: features, hair), fine (64 px+: colours).")
    mix.add_argument("--rows", default="1,2,3", help="row seeds B, comma-separated (default 1,2,3)")
    mix.add_argument("--cols", default="4,5,6,7,8", help="column seeds A, comma-separated (default 4,5,6,7,8)")
    mix.add_argument("--styles", default="coarse,middle,fine",
                     help="which of B's layers each band copies: coarse, middle, fine or a range of layer indices "
                          "A-B, comma-separated (default coarse,middle,fine)")
    mix.add_argument("--out", default="style_mixing.png", help="PNG to write (default style_mixing.png)")

    evaluate = sub.add_parser("eval", parents=[uses_generator],
                              help="quality metrics of a generator against real images (offline)",
                              description="SWD and MS-SSIM diversity (and FID/KID with --metrics ...,fid when the "
                                          "Inception weights are present); prints a table and appends to the "
                                          "run's metrics.jsonl.")
    evaluate.add_argument("--data", help="real images: a folder or 'synthetic' (default: the run's training data)")
    evaluate.add_argument("--n", type=int, default=DEFAULT_EVAL_SAMPLES,
                          help=f"fake and real images compared, at least 2 (default {DEFAULT_EVAL_SAMPLES}; "
                               "SWD uses a capped subset of them)")
    evaluate.add_argument("--metrics", default=DEFAULT_METRICS,
                          help=f"comma-separated: {', '.join(METRIC_NAMES)} (default {DEFAULT_METRICS})")

    attributes = sub.add_parser("attributes", help="the face-attribute classifier: train it, score images with it")
    attr_sub = attributes.add_subparsers(dest="attr_command", required=True, parser_class=_Parser)
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
    attr_train.add_argument("--fold", metavar="K/N", help="train on the training people outside fold K of N only "
                            "(folds of people, fixed by the split seed): a fold teacher, for --calibrate")
    attr_train.add_argument("--calibrate", action="store_true",
                            help="calibrate the --teacher models (fold teachers, one per fold) on the labelled "
                                 "faces each never saw, so their soft labels are balanced on new people")
    attr_train.add_argument("--hint", metavar="CSV", help="features of every training face, labelled and "
                            "unlabelled (member, then one column per feature: e.g. a pretrained face network's "
                            "embedding from bench/attributes_dlib.py hints), which the classifier also learns to "
                            "predict while training, so its own features learn what that network sees")
    attr_train.add_argument("--hint-weight", type=float,
                            help="weight of the --hint loss against the attributes' (default 1)")
    attr_score = attr_sub.add_parser("score", parents=[uses_device],
                                     help="attribute probabilities per image or per generated face, as CSV")
    attr_score.add_argument("--classifier", required=True, help="a file from facegan attributes train")
    attr_score.add_argument("--data", required=True,
                            help="a folder of images (one row per file) or a generator / run directory "
                                 "(one row per seed)")
    attr_score.add_argument("--n", type=int, default=64, help="generator: faces to score (default 64)")
    attr_score.add_argument("--seed", type=int, default=0, help="generator: first seed (default 0)")
    attr_score.add_argument("--out", default="scores.csv", help="CSV to write (default scores.csv)")

    default_classifier = str(shipped_model("attributes.safetensors"))
    directions = sub.add_parser("directions", parents=[uses_generator],
                                help="fit edit directions (age, smile, ...) in a generator's latent space",
                                description="Score many generated faces with the attribute classifier, fit one "
                                            "linear direction per attribute on the most and least confident "
                                            "(InterFaceGAN; z for DCGAN, w for StyleGAN2), add SeFa's "
                                            "unsupervised directions, and save them beside the generator.")
    directions.add_argument("--classifier", default=default_classifier,
                            help=f"attribute classifier (default the shipped {default_classifier})")
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

    edit = sub.add_parser("edit", parents=[uses_generator, truncates],
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

    project = sub.add_parser("project", parents=[uses_generator],
                             help="find your own photo in a generator's latent space, to edit it",
                             description="Centre-crops the photo to a square, resizes it to the generator's size "
                                         "and optimises a latent whose face matches it (pixel + perceptual loss). "
                                         "Writes OUT/latent.safetensors (for facegan edit --latent), "
                                         "OUT/target.png and OUT/reconstruction.png.")
    project.add_argument("photo", help="a face photo (JPEG, PNG, ...), at least 64 px, roughly square")
    project.add_argument("--out", default="projection", help="folder to write (default projection)")
    project.add_argument("--space", choices=["z", "w", "w+"],
                         help="z (DCGAN), w or w+ (StyleGAN2; w+ = one w per layer) (default z or w)")
    project.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    project.add_argument("--classifier", default=default_classifier,
                         help="network for the perceptual loss (default the shipped attribute classifier; "
                              "'none' for pixels only)")
    project.add_argument("--seed", type=int, default=0, help="seed of the starting candidates (default 0)")
    importer = sub.add_parser("import", help="a pre-trained StyleGAN2 (NVIDIA's .pkl or a rosinality .pt) -> a "
                                             "facegan generator export, without running code from the file",
                              description="Reads the generator (G_ema of an official stylegan2-ada-pytorch / stylegan3 "
                                          "pickle, or g_ema of a rosinality stylegan2-pytorch checkpoint) without "
                                          "running anything stored in the file, rebuilds it as facegan's StyleGAN2, "
                                          "checks one forward pass and writes a generator.safetensors that sample, "
                                          "interpolate and mix take.")
    importer.add_argument("kind", choices=IMPORT_KINDS,
                          help="stylegan2: NVIDIA's network pickle (.pkl); rosinality: a stylegan2-pytorch checkpoint")
    importer.add_argument("file", help="the file to import")
    importer.add_argument("--out", help="export to write (default: FILE's name with .safetensors, here)")
    importer.add_argument("--fp32", action="store_true", help="store fp32 weights (default fp16: half the size)")

    digits = sub.add_parser("digits", help="digits: the digit classifier, how recognisable a generator's digits are, "
                                           "a grid of digit data")
    digit_sub = digits.add_subparsers(dest="digits_command", required=True, parser_class=_Parser)
    digit_train = digit_sub.add_parser("classifier",
                                       help="train the digit classifier, report its held-out accuracy, save",
                                       description="A small CNN over the ten digits, trained on the same digits a GAN "
                                                   "trains on; its accuracy on held-out digits is stored in the file.")
    digit_train.add_argument("--data", default=SYNTHETIC_DIGITS,
                             help=f"{SYNTHETIC_DIGITS} (the built-in digits; default) or a folder of MNIST's IDX files "
                                  "(its t10k files are the held-out set)")
    digit_train.add_argument("--count", type=int, default=DIGITS_COUNT,
                             help=f"{SYNTHETIC_DIGITS}: training digits, the first COUNT as the GAN's data; the next "
                                  f"10,000 are held out (default {DIGITS_COUNT:,}, the digits preset's)")
    digit_train.add_argument("--epochs", type=int, default=5, help="passes over the training digits (default 5)")
    digit_train.add_argument("--width", type=int, default=16, help="channels of the first stage (default 16)")
    digit_train.add_argument("--seed", type=int, default=0, help="seed for the weights and order (default 0)")
    digit_train.add_argument("--out", default="digits_classifier.safetensors", help="classifier file to write")
    digit_score = digit_sub.add_parser("score", parents=[uses_generator],
                                       help="how recognisable a generator's digits are, by the digit classifier",
                                       description="Classifies --n samples: the share recognised (p >= threshold), the "
                                                   "share of each digit among them, their entropy and the largest "
                                                   "share; appends to the run's metrics.jsonl.")
    digit_score.add_argument("--classifier", required=True, help="a file from facegan digits classifier")
    digit_score.add_argument("--n", type=int, default=10_000, help="samples to classify (default 10,000)")
    digit_score.add_argument("--seed", type=int, default=0, help="seed of the samples (default 0)")
    digit_score.add_argument("--threshold", type=float, default=0.9,
                             help="probability at which a sample counts as recognised (default 0.9)")
    digit_score.add_argument("--grid", metavar="PNG", help="also write what the classifier saw: a row of samples per "
                                                           "digit recognised, then a row not recognised")
    digit_show = digit_sub.add_parser("show", help="a grid of digits from a data set (the built-in ones or MNIST)")
    digit_show.add_argument("--data", default=SYNTHETIC_DIGITS, help=f"{SYNTHETIC_DIGITS} (default) or an MNIST folder")
    digit_show.add_argument("--n", type=int, default=100, help="digits in the grid, the data's first N (default 100)")
    digit_show.add_argument("--nrow", type=int, default=10, help="digits per row (default 10)")
    digit_show.add_argument("--scale", type=int, default=3, help="pixel size (default 3)")
    digit_show.add_argument("--out", default="digits.png", help="PNG to write (default digits.png)")

    download = sub.add_parser("download", help="fetch a dataset or weights (the only network access facegan makes)")
    download.add_argument("dataset", choices=["celeba-small", "mnist", "inception", *PRETRAINED],
                          help="celeba-small: the Udacity CelebA subset; mnist: MNIST's four IDX files (MD5-checked); "
                               "inception: FID/KID feature weights; "
                               + "; ".join(f"{name}: NVIDIA's {p.what}" for name, p in PRETRAINED.items())
                               + " (fetched, then imported as with facegan import)")
    download.add_argument("--root", help="celeba-small: images go to ROOT/celeba (default processed_celeba_small); "
                                         "mnist: the files go to ROOT (default mnist)")
    download.add_argument("--url", help="a mirror: of the zip (celeba-small), of the folder holding the four .gz "
                                        "files (mnist), of the weights file (inception), of the pickle (stylegan2-*)")
    download.add_argument("--force", action="store_true", help="download even if the files are present")
    download.add_argument("--keep-zip", action="store_true", help="celeba-small: keep the zip after unpacking")
    download.add_argument("--out", help="stylegan2-*: export to write (default NAME.safetensors)")
    download.add_argument("--fp32", action="store_true", help="stylegan2-*: store fp32 weights (default fp16)")
    download.add_argument("--keep-pkl", action="store_true", help="stylegan2-*: keep NVIDIA's pickle in the cache")
    return parser


def _config_overrides(args: argparse.Namespace) -> dict:
    names = {f.name for f in fields()} - {"preset"}  # --preset is handled by build_config
    return {k: v for k, v in vars(args).items() if k in names}


def check_args(args: argparse.Namespace) -> None:
    """Every check that needs no torch, before any command imports it: a mistake costs no import time.

    Resolves ``args.generator`` to the export file (a run directory means its generator.safetensors).
    """
    if args.command == "train" and args.resume:
        extra = sorted(set(_config_overrides(args)) - {"epochs", "device"})
        if extra or args.preset:
            changed = ", ".join("--" + k.replace("_", "-") for k in extra) or "--preset"
            raise FaceganError(f"--resume continues a run with its saved config; only --epochs and --device "
                               f"may be given (got {changed})")
        if not Path(args.resume).is_dir():
            raise FaceganError(f"run directory {args.resume} does not exist")
    elif args.command == "train":
        build_config(args.preset or "auto", _config_overrides(args))  # validates every value, torch-free
    elif args.command == "sample":
        require_int_at_least("--n", args.n)
        if args.nrow is not None:
            require_int_at_least("--nrow", args.nrow)
    elif args.command == "interpolate":
        require_int_at_least("--steps", args.steps)
    elif args.command == "mix":
        args.rows, args.cols = _seed_list("--rows", args.rows), _seed_list("--cols", args.cols)
        args.styles = [s.strip() for s in args.styles.split(",") if s.strip()]
        if not args.styles:
            raise FaceganError("--styles needs at least one of coarse, middle, fine or a layer range A-B")
    elif args.command == "attributes" and args.attr_command == "train":
        require_int_at_least("--epochs", args.epochs)
        require_int_at_least("--width", args.width)
        if not 0 < args.holdout < 1:
            raise FaceganError(f"--holdout is a share of people, between 0 and 1 (got {args.holdout})")
        if bool(args.unlabelled) != bool(args.teacher):
            raise FaceganError("distillation needs both --unlabelled DIR and at least one --teacher FILE")
        if args.calibrate and not args.teacher:
            raise FaceganError("--calibrate calibrates --teacher models: give them (and --unlabelled DIR)")
        if args.fold is not None:
            k, _, n = args.fold.partition("/")
            if not (k.isdigit() and n.isdigit() and 0 <= int(k) < int(n) and int(n) >= 2):
                raise FaceganError(f"--fold is K/N with 0 <= K < N and N >= 2, e.g. 0/5 (got {args.fold!r})")
            args.fold = (int(k), int(n))
        if args.hint_weight is not None and not args.hint:
            raise FaceganError("--hint-weight weighs the --hint features: give their table (--hint CSV) too")
        args.hint_weight = 1.0 if args.hint_weight is None else args.hint_weight
        if not (args.hint_weight > 0 and math.isfinite(args.hint_weight)):
            raise FaceganError(f"--hint-weight is a positive number (got {args.hint_weight})")
    elif args.command == "attributes":
        require_int_at_least("--n", args.n)
    elif args.command == "directions":
        require_int_at_least("--n", args.n, minimum=100)
        if not 0 < args.share <= 0.5:
            raise FaceganError(f"--share is the share of faces on each side, in (0, 0.5] (got {args.share})")
        if args.sefa < 0:
            raise FaceganError(f"--sefa must be 0 or more (got {args.sefa})")
        if args.attributes is not None:
            args.attributes = parse_names("--attributes", args.attributes)
    elif args.command == "edit":
        args.seed = _seed_list("--seed", args.seed)
        args.edit = parse_edits(args.edit) if args.edit is not None else None
        if args.strip is not None:
            parse_names("--strip", args.strip)
        args.condition = parse_names("--condition", args.condition) if args.condition is not None else []
        require_int_at_least("--steps", args.steps, minimum=2)
        if args.strength <= 0:
            raise FaceganError(f"--strength must be above 0 (got {args.strength})")
        if args.gif and args.strip is None:
            raise FaceganError("--gif animates a --strip; give --strip NAME (or leave --gif out)")
    elif args.command == "project":
        require_int_at_least("--steps", args.steps)
    elif args.command == "eval":
        require_int_at_least("--n", args.n, minimum=2)
        parse_metric_names(args.metrics)
    elif args.command == "import":
        if not Path(args.file).is_file():
            raise FaceganError(f"{args.file} not found" if not Path(args.file).exists() else
                               f"{args.file} is not a file")
        args.out = Path(args.out) if args.out else Path(Path(args.file).stem + ".safetensors")
        _check_export_name(args.out, args.file)
    elif args.command == "download" and args.dataset in PRETRAINED:
        if args.out:
            _check_export_name(Path(args.out), None)
    elif args.command == "download" and (args.out or args.fp32 or args.keep_pkl):
        raise FaceganError(f"--out, --fp32 and --keep-pkl apply to the pre-trained generators "
                           f"({', '.join(PRETRAINED)}), not to {args.dataset}")
    elif args.command == "digits":
        for flag in ("count", "epochs", "width", "n", "nrow", "scale"):
            if flag in args:
                require_int_at_least(f"--{flag}", getattr(args, flag))
        if "threshold" in args and not 0 < args.threshold < 1:
            raise FaceganError(f"--threshold is a probability between 0 and 1 (got {args.threshold})")
    if "truncation" in args and not 0 <= args.truncation <= 1:
        raise FaceganError(f"--truncation must be between 0 and 1 (got {args.truncation})")
    if "device" in args and not re.fullmatch(DEVICE_PATTERN, args.device):  # train: only if --device was given
        raise FaceganError(f"{DEVICE_HELP} (got {args.device!r})")
    if "generator" in args:
        args.generator = export_path(args.generator)


def _check_export_name(out: Path, source: str | None) -> None:
    if out.suffix != ".safetensors":
        raise FaceganError(f"--out must name a .safetensors file (got {out})")
    if out.is_dir():
        raise FaceganError(f"--out {out} is a folder; name the .safetensors file to write")
    if source is not None and out.resolve() == Path(source).resolve():
        raise FaceganError(f"--out {out} would overwrite the file being imported")


def _seed_list(flag: str, text: str) -> list[int]:
    try:
        seeds = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise FaceganError(f"{flag} takes comma-separated integer seeds such as 1,2,3 (got {text!r})")
    return seeds


def cmd_train(args: argparse.Namespace) -> None:
    from facegan.training.device import pick_device
    from facegan.training.loop import resume_config, train

    overrides = _config_overrides(args)
    if args.resume:
        cfg = resume_config(args.resume, overrides.get("epochs"), overrides.get("device"))
    else:
        device = pick_device(overrides.get("device", "auto"))
        cfg = build_config(args.preset or "auto", overrides, device.type)
    train(cfg, resume=args.resume, progress=not args.no_progress)


def cmd_sample(args: argparse.Namespace) -> None:
    from facegan.interop.export import load_generator
    from facegan.latent import sample
    from facegan.training.device import pick_device
    from facegan.viz import save_grid, save_images

    G = load_generator(args.generator, pick_device(args.device))
    faces = sample(G, args.n, args.seed, args.truncation)
    if args.separate:
        paths = save_images(faces, args.separate)
        print(f"wrote {len(paths)} faces to {args.separate}/")
    else:
        save_grid(faces, args.out, nrow=args.nrow)
        print(f"wrote {args.n} faces (seed {args.seed}) to {args.out}")


def cmd_interpolate(args: argparse.Namespace) -> None:
    from facegan.interop.export import load_generator
    from facegan.latent import interpolate
    from facegan.training.device import pick_device
    from facegan.viz import save_grid

    G = load_generator(args.generator, pick_device(args.device))
    if args.space == "w":
        from facegan.latent import interpolate_w
        faces = interpolate_w(G, args.seed_a, args.seed_b, args.steps, args.truncation)
    else:
        faces = interpolate(G, args.seed_a, args.seed_b, args.steps, args.truncation)
    save_grid(faces, args.out, nrow=args.steps)
    print(f"wrote a {args.steps}-step interpolation in {args.space} (seed {args.seed_a} -> {args.seed_b}) "
          f"to {args.out}")
    if args.gif:
        from facegan.viz import save_gif

        save_gif(faces, args.gif)
        print(f"wrote {args.gif}")


def cmd_mix(args: argparse.Namespace) -> None:
    from facegan.editing.mixing import mixing_figure, require_style_generator
    from facegan.fileio import atomic_path
    from facegan.interop.export import load_generator
    from facegan.training.device import pick_device

    G = load_generator(args.generator, pick_device(args.device))
    require_style_generator(G, "facegan mix")
    figure = mixing_figure(G, args.rows, args.cols, args.styles, args.truncation)
    with atomic_path(args.out) as tmp:
        figure.save(tmp, format="PNG")
    print(f"wrote style mixing of rows {args.rows} into columns {args.cols} ({', '.join(args.styles)}) to {args.out}")


def cmd_eval(args: argparse.Namespace) -> None:
    from facegan.data.images import load_faces
    from facegan.evaluation.evaluate import check_face_metrics_apply, evaluate, format_table
    from facegan.fileio import append_jsonl
    from facegan.interop.export import export_config, load_generator
    from facegan.training.device import pick_device

    chosen = parse_metric_names(args.metrics)
    device = pick_device(args.device)
    G = load_generator(args.generator, device)
    arch = G.arch()
    check_face_metrics_apply(arch.get("channels", 3), arch.get("resolution", 64))  # before loading any data
    trained = export_config(args.generator)
    data = args.data or trained.get("data", DEFAULT_CELEBA_DIR)
    faces = load_faces(data, trained.get("synthetic_count", SYNTHETIC_COUNT),
                       size=arch.get("resolution"), channels=arch.get("channels", 0))
    print(f"evaluating {args.generator} against {faces.source} on {device}")
    result = evaluate(G, faces.images, args.n, chosen, data_key=faces.key, device=device)
    print(format_table(result))
    run_dir = args.generator.parent
    if (run_dir / "config.json").is_file():
        append_jsonl(run_dir / "metrics.jsonl", {"generator": str(args.generator), "data": faces.source, **result})
        print(f"appended to {run_dir / 'metrics.jsonl'}")


def cmd_attributes(args: argparse.Namespace) -> None:
    from facegan.editing.attributes import score_source, train_and_report

    if args.attr_command == "train":
        train_and_report(args.data, args.attrs, args.out, args.epochs, args.holdout, args.seed, args.width,
                         split_seed=args.split_seed, unlabelled=args.unlabelled, unlabelled_ids=args.unlabelled_ids,
                         teachers=args.teacher, fold=args.fold, calibrate_teachers=args.calibrate,
                         hint=args.hint, hint_weight=args.hint_weight)
    else:
        from facegan.training.device import pick_device

        path = score_source(args.classifier, args.data, args.out, args.n, args.seed, pick_device(args.device))
        print(f"wrote {path}")


def cmd_directions(args: argparse.Namespace) -> None:
    from facegan.editing.attributes import load_classifier
    from facegan.editing.directions import directions_path, fit_directions, save_directions
    from facegan.editing.names import EDITABLE_ATTRIBUTES, resolve_name
    from facegan.interop.export import load_generator
    from facegan.training.device import pick_device

    device = pick_device(args.device)
    G = load_generator(args.generator, device)
    classifier, names, _ = load_classifier(args.classifier, device)
    attributes = (tuple(dict.fromkeys(resolve_name(a)[0] for a in args.attributes)) if args.attributes
                  else EDITABLE_ATTRIBUTES)
    directions = fit_directions(G, classifier, names, attributes, args.n, args.share, args.method, args.sefa, args.seed)
    directions.info["classifier"] = str(args.classifier)
    out = save_directions(directions, args.out or directions_path(args.generator))
    print(f"wrote {len(directions.names)} directions in {directions.space} to {out}")


def cmd_edit(args: argparse.Namespace) -> None:
    import torch

    from facegan.editing.directions import directions_path, edit_codes, load_directions, load_latent, strip_codes
    from facegan.editing.names import resolve_name
    from facegan.interop.export import load_generator
    from facegan.latent import codes_for_seeds, render
    from facegan.training.device import pick_device
    from facegan.viz import save_gif, save_grid

    G = load_generator(args.generator, pick_device(args.device))
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


def cmd_project(args: argparse.Namespace) -> None:
    from facegan.editing.attributes import load_classifier
    from facegan.editing.directions import save_latent
    from facegan.editing.projection import load_photo, project, reconstruction_quality
    from facegan.interop.export import load_generator
    from facegan.training.device import pick_device
    from facegan.viz import save_grid

    device = pick_device(args.device)
    G = load_generator(args.generator, device)
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


def cmd_import(args: argparse.Namespace) -> None:
    from facegan.interop.stylegan import import_generator

    out, summary = import_generator(args.kind, args.file, args.out, half=not args.fp32)
    print(summary)
    print(f"draw faces: facegan sample --generator {out} --truncation 0.7 --n 16")


def cmd_digits(args: argparse.Namespace) -> None:
    if args.digits_command == "classifier":
        from facegan.evaluation.digits import train_and_report

        train_and_report(args.data, args.out, args.count, args.epochs, args.width, args.seed)
    elif args.digits_command == "score":
        from facegan.evaluation.digits import format_report, score_generator
        from facegan.fileio import append_jsonl
        from facegan.interop.export import load_generator
        from facegan.training.device import pick_device

        device = pick_device(args.device)
        report = score_generator(load_generator(args.generator, device), args.classifier, args.n, args.seed,
                                 args.threshold, device, args.grid)
        print(f"digits of {args.generator}, judged by {args.classifier}:")
        print(format_report(report))
        run_dir = args.generator.parent
        if (run_dir / "config.json").is_file():
            append_jsonl(run_dir / "metrics.jsonl", {"generator": str(args.generator), "classifier": args.classifier,
                                                     "digits": report})
            print(f"appended to {run_dir / 'metrics.jsonl'}")
        if args.grid:
            print(f"wrote {args.grid}: one row per digit recognised, then one row not recognised")
    else:
        from facegan.data.images import load_faces, to_unit_range
        from facegan.viz import save_grid

        # built-in digit i is the same whatever the set's size, so rendering the first n is enough
        digits = load_faces(args.data, args.n, progress=False, size=28, channels=1)
        save_grid(to_unit_range(digits.images[:args.n]), args.out, nrow=args.nrow, scale=args.scale)
        print(f"wrote the first {min(args.n, len(digits))} of {digits.source} to {args.out}")


def cmd_download(args: argparse.Namespace) -> None:
    from facegan.interop.download import download_dataset, download_inception, download_mnist, download_pretrained

    if args.dataset == "inception":
        download_inception(url=args.url)
    elif args.dataset in PRETRAINED:
        out = download_pretrained(args.dataset, args.out, url=args.url, half=not args.fp32, keep_pkl=args.keep_pkl)
        print(f"draw faces: facegan sample --generator {out} --truncation 0.7 --n 16")
    elif args.dataset == "mnist":
        download_mnist(args.root or DEFAULT_MNIST_DIR, url=args.url, force=args.force)
    else:
        download_dataset(args.dataset, args.root or "processed_celeba_small", url=args.url, force=args.force,
                         keep_zip=args.keep_zip)


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "interpolate": cmd_interpolate, "mix": cmd_mix,
            "eval": cmd_eval, "attributes": cmd_attributes, "directions": cmd_directions, "edit": cmd_edit,
            "project": cmd_project, "import": cmd_import, "digits": cmd_digits, "download": cmd_download}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_args(args)  # torch-free: before any command's heavy imports
        COMMANDS[args.command](args)
    except FaceganError as e:
        print(f"facegan {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
