"""facegan digits classifier | score | show: the digit classifier, how recognisable a generator's digits
are, a grid of digit data."""
from __future__ import annotations

import argparse

from facegan.cli.common import Command, Parents, Parser, append_to_run_metrics, generator_and_device
from facegan.config import PRESETS
from facegan.data import SYNTHETIC_DIGITS
from facegan.errors import FaceganError, require_int_at_least

DIGITS_COUNT = PRESETS["digits"]["synthetic_count"]  # the built-in digits the digits preset trains on


def add_digits_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    digits = sub.add_parser("digits", help="digits: the digit classifier, how recognisable a generator's digits are, "
                                           "a grid of digit data")
    digit_sub = digits.add_subparsers(dest="digits_command", required=True, parser_class=Parser)
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
    digit_score = digit_sub.add_parser("score", parents=[parents.generator],
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
    return digits


def prepare_digits(args: argparse.Namespace) -> None:
    for flag in ("count", "epochs", "width", "n", "nrow", "scale"):
        if flag in args:
            require_int_at_least(f"--{flag}", getattr(args, flag))
    if "threshold" in args and not 0 < args.threshold < 1:
        raise FaceganError(f"--threshold is a probability between 0 and 1 (got {args.threshold})")


def run_digits(args: argparse.Namespace) -> None:
    if args.digits_command == "classifier":
        from facegan.evaluation.digits import train_and_report

        train_and_report(args.data, args.out, args.count, args.epochs, args.width, args.seed)
    elif args.digits_command == "score":
        from facegan.evaluation.digits import format_report, score_generator

        G, device = generator_and_device(args)
        report = score_generator(G, args.classifier, args.n, args.seed, args.threshold, device, args.grid)
        print(f"digits of {args.generator}, judged by {args.classifier}:")
        print(format_report(report))
        append_to_run_metrics(args.generator, {"generator": str(args.generator), "classifier": args.classifier,
                                               "digits": report})
        if args.grid:
            print(f"wrote {args.grid}: one row per digit recognised, then one row not recognised")
    else:
        from facegan.data.images import load_faces, to_unit_range
        from facegan.viz import save_grid

        # built-in digit i is the same whatever the set's size, so rendering the first n is enough
        digits = load_faces(args.data, args.n, progress=False, size=28, channels=1)
        save_grid(to_unit_range(digits.images[:args.n]), args.out, nrow=args.nrow, scale=args.scale)
        print(f"wrote the first {min(args.n, len(digits))} of {digits.source} to {args.out}")


COMMANDS = [Command("digits", add_digits_parser, prepare_digits, run_digits)]
