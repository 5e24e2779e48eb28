"""facegan's command line: train | sample | interpolate | eval | download. Thin: parse, then call the package.

Training flags are generated from :class:`facegan.config.TrainConfig` (no second list of defaults):
a flag that is not given keeps the preset's or dataclass's value.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import DEFAULT_METRICS, PRESET_CHOICES, build_config, fields
from .errors import FaceganError


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
    parser = _Parser(prog="facegan", description="Face generation with GANs: train, sample, interpolate, eval, download.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a DCGAN; one run directory per run",
                           description="Train a DCGAN. Without flags: the CelebA subset if present "
                                       "(else built-in synthetic faces), preset auto.")
    train.add_argument("--preset", choices=PRESET_CHOICES,
                       help="auto = paper on cuda/mps, quick on cpu (default auto)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest checkpoint "
                                                           "(only --epochs and --device may change)")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_config_flags(train)

    sample = sub.add_parser("sample", help="draw faces from an exported generator")
    sample.add_argument("--generator", required=True, help="a generator.safetensors from a run directory")
    sample.add_argument("--n", type=int, default=64, help="how many faces (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="the same seed gives the same faces (default 0)")
    out = sample.add_mutually_exclusive_group()
    out.add_argument("--out", default="faces.png", help="grid PNG to write (default faces.png)")
    out.add_argument("--separate", metavar="DIR", help="write one PNG per face into DIR instead of a grid")
    sample.add_argument("--nrow", type=int, help="faces per grid row (default: square)")
    sample.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")

    interp = sub.add_parser("interpolate", help="a strip of faces along a latent path between two seeds")
    interp.add_argument("--generator", required=True, help="a generator.safetensors from a run directory")
    interp.add_argument("--seed-a", type=int, default=0)
    interp.add_argument("--seed-b", type=int, default=1)
    interp.add_argument("--steps", type=int, default=10, help="faces in the strip (default 10)")
    interp.add_argument("--out", default="interpolation.png")
    interp.add_argument("--device", default="auto")

    evaluate = sub.add_parser("eval", help="quality metrics of a generator against real images (offline)",
                              description="SWD and MS-SSIM diversity (and FID/KID with --metrics ...,fid when the "
                                          "Inception weights are present); prints a table and appends to the "
                                          "run's metrics.jsonl.")
    evaluate.add_argument("--generator", required=True, help="a generator.safetensors from a run directory")
    evaluate.add_argument("--data", help="real images: a folder or 'synthetic' (default: the run's training data)")
    evaluate.add_argument("--n", type=int, default=10_000, help="fake and real images compared (default 10000; "
                                                               "SWD uses at most 2048 of them)")
    evaluate.add_argument("--metrics", default=DEFAULT_METRICS, help=f"comma-separated: swd, msssim, fid "
                                                                  f"(default {DEFAULT_METRICS})")
    evaluate.add_argument("--device", default="auto")

    download = sub.add_parser("download", help="fetch a dataset or weights (the only network access facegan makes)")
    download.add_argument("dataset", choices=["celeba-small", "inception"],
                          help="celeba-small: the Udacity CelebA subset; inception: FID/KID feature weights")
    download.add_argument("--root", default="processed_celeba_small", help="images go to ROOT/celeba")
    download.add_argument("--url", help="a mirror of the zip (default: the Udacity URL)")
    download.add_argument("--force", action="store_true", help="download even if images are present")
    download.add_argument("--keep-zip", action="store_true", help="keep the zip after unpacking")
    return parser


def _config_overrides(args: argparse.Namespace) -> dict:
    names = {f.name for f in fields()} - {"preset"}  # --preset is handled by build_config
    return {k: v for k, v in vars(args).items() if k in names}


def cmd_train(args: argparse.Namespace) -> None:
    from .device import pick_device
    from .training import resume_config, train

    overrides = _config_overrides(args)
    if args.resume:
        extra = sorted(set(overrides) - {"epochs", "device"})
        if extra or args.preset:
            changed = ", ".join("--" + k.replace("_", "-") for k in extra) or "--preset"
            raise FaceganError(f"--resume continues a run with its saved config; only --epochs and --device "
                               f"may be given (got {changed})")
        cfg = resume_config(args.resume, overrides.get("epochs"), overrides.get("device"))
    else:
        device = pick_device(overrides.get("device", "auto"))
        cfg = build_config(args.preset or "auto", overrides, device.type)
    train(cfg, resume=args.resume, progress=not args.no_progress)


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise FaceganError(f"--{name} must be a positive integer (got {value})")


def cmd_sample(args: argparse.Namespace) -> None:
    from .checkpoint import load_generator
    from .device import pick_device
    from .latent import sample
    from .viz import save_grid, save_images

    _positive("n", args.n)
    G = load_generator(args.generator, pick_device(args.device))
    faces = sample(G, args.n, args.seed)
    if args.separate:
        paths = save_images(faces, args.separate)
        print(f"wrote {len(paths)} faces to {args.separate}/")
    else:
        save_grid(faces, args.out, nrow=args.nrow)
        print(f"wrote {args.n} faces (seed {args.seed}) to {args.out}")


def cmd_interpolate(args: argparse.Namespace) -> None:
    from .checkpoint import load_generator
    from .device import pick_device
    from .latent import interpolate
    from .viz import save_grid

    _positive("steps", args.steps)
    G = load_generator(args.generator, pick_device(args.device))
    save_grid(interpolate(G, args.seed_a, args.seed_b, args.steps), args.out, nrow=args.steps)
    print(f"wrote a {args.steps}-step interpolation (seed {args.seed_a} -> {args.seed_b}) to {args.out}")


def cmd_eval(args: argparse.Namespace) -> None:
    from .checkpoint import export_config, load_generator
    from .config import DEFAULT_CELEBA_DIR
    from .data import load_faces
    from .device import pick_device
    from .evaluation import append_jsonl, check_sample_count, evaluate, format_table
    from .metrics import parse_names

    check_sample_count(args.n)  # before anything is loaded
    chosen = parse_names(args.metrics)
    device = pick_device(args.device)
    G = load_generator(args.generator, device)
    trained = export_config(args.generator)
    data = args.data or trained.get("data", DEFAULT_CELEBA_DIR)
    faces = load_faces(data, trained.get("synthetic_count", 10_000))
    print(f"evaluating {args.generator} against {faces.source} on {device}")
    result = evaluate(G, faces.images, args.n, chosen, data_key=faces.key, device=device)
    print(format_table(result))
    run_dir = Path(args.generator).parent
    if (run_dir / "config.json").is_file():
        append_jsonl(run_dir / "metrics.jsonl", {"generator": str(args.generator), "data": faces.source, **result})
        print(f"appended to {run_dir / 'metrics.jsonl'}")


def cmd_download(args: argparse.Namespace) -> None:
    from .download import download_dataset, download_inception

    if args.dataset == "inception":
        download_inception(url=args.url)
    else:
        download_dataset(args.dataset, args.root, url=args.url, force=args.force, keep_zip=args.keep_zip)


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "interpolate": cmd_interpolate, "eval": cmd_eval,
            "download": cmd_download}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except FaceganError as e:
        print(f"facegan {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
