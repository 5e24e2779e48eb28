"""facegan train: one run directory per run. Its flags are generated from
:class:`facegan.config.TrainConfig` (no second list of defaults): a flag not given keeps the preset's
or the dataclass's value."""
from __future__ import annotations

import argparse
from pathlib import Path

from facegan.cli.common import Command, Parents, progress_bars
from facegan.config import AUTO_LONG_CPU_MINUTES, PRESET_CHOICES, RESUME_CHANGES, build_config, fields
from facegan.errors import FaceganError
from facegan.fileio import export_path
from facegan.models import ARCHITECTURES, config_class
from facegan.models.projected.config import ProjectedConfig
from facegan.options import TYPES, options


def add_train_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    train = sub.add_parser("train", help="train a GAN (dcgan, stylegan2 or mlp); one run directory per run",
                           description="Train a GAN. Without flags: the CelebA subset if present "
                                       "(else built-in synthetic faces), preset auto.")
    train.add_argument("--preset", choices=PRESET_CHOICES,
                       help="auto = paper on cuda/mps; on a cpu quick, or stylegan-cpu-long with --minutes "
                            f"{AUTO_LONG_CPU_MINUTES:g} or more (default auto); stylegan, stylegan-cpu: StyleGAN2 "
                            "for a GPU / a CPU; stylegan-cpu-long: the shipped model's recipe; progan, progan-cpu: progressive growing for a GPU / a CPU; "
                            "digits: the vanilla MLP GAN on 28x28 digits")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest checkpoint (only its "
                                                           "budget, --epochs, --minutes, --kimg, and --device may "
                                                           "change; a time limit continues with what it has left)")
    train.add_argument("--checkpoint", type=int, metavar="STEP",
                       help="with --resume: continue from the checkpoint of this step (checkpoints/state-STEP.pt) "
                            "instead of the newest intact one; the newer ones are kept in checkpoints/set-aside/")
    train.add_argument("--no-progress", action="store_true", help="no progress bars (they are off anyway when stderr is not a terminal: "
                                                                  "one plain line per epoch instead)")
    add_config_flags(train)
    return train


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per option: the loop's (TrainConfig) in one group, each architecture's in its own."""
    add_option_flags(parser.add_argument_group("training config (defaults: the preset, then TrainConfig)"),
                     [f for f in fields() if f.name != "preset"])
    for arch in ARCHITECTURES:
        add_option_flags(parser.add_argument_group(f"{arch} settings (with --arch {arch}; defaults: the preset, "
                                                   f"then {config_class(arch).__name__})"), options(config_class(arch)))
    add_option_flags(parser.add_argument_group("projected discriminator settings (with --disc projected or "
                                               "native+projected; defaults: the preset, then ProjectedConfig)"),
                     options(ProjectedConfig))


def add_option_flags(group, option_fields: list) -> None:
    for f in option_fields:
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} (default {f.default!r})"
        if f.type == "bool":
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=help_text)
        else:
            group.add_argument(flag, dest=f.name, type=TYPES[f.type], choices=f.metadata["choices"],
                               default=argparse.SUPPRESS, help=help_text,
                               metavar=f.name.upper() if not f.metadata["choices"] else None)


def config_overrides(args: argparse.Namespace) -> dict:
    """The config values given as flags (flat: loop options and architecture settings side by side)."""
    names = {f.name for f in fields()} - {"preset"}  # --preset is handled by build_config
    names |= {f.name for arch in ARCHITECTURES for f in options(config_class(arch))}
    names |= {f.name for f in options(ProjectedConfig)}
    return {k: v for k, v in vars(args).items() if k in names}


def prepare_train(args: argparse.Namespace) -> None:
    if args.checkpoint is not None and not args.resume:
        raise FaceganError("--checkpoint picks the checkpoint a run resumes from: give it with --resume RUN_DIR")
    if args.resume:
        extra = sorted(set(config_overrides(args)) - set(RESUME_CHANGES))
        if extra or args.preset:
            changed = ", ".join("--" + k.replace("_", "-") for k in extra) or "--preset"
            raise FaceganError(f"--resume continues a run with its saved config; only its budget (--epochs, "
                               f"--minutes, --kimg) and --device may be given (got {changed})")
        if not Path(args.resume).is_dir():
            raise FaceganError(f"run directory {args.resume} does not exist")
    else:
        cfg = build_config(args.preset or "auto", config_overrides(args))  # validates every value, torch-free
        if cfg.init_generator:
            export_path(cfg.init_generator)  # one line now if it is missing, not after the data has loaded


def run_train(args: argparse.Namespace) -> None:
    from facegan.training.device import pick_device
    from facegan.training.loop import resume_config, train

    overrides = config_overrides(args)
    if args.resume:
        cfg = resume_config(args.resume, checkpoint=args.checkpoint,
                            **{k: overrides[k] for k in RESUME_CHANGES if k in overrides})
    else:
        device = pick_device(overrides.get("device", "auto"))
        cfg = build_config(args.preset or "auto", overrides, device.type)
    train(cfg, resume=args.resume, checkpoint=args.checkpoint, progress=progress_bars(args.no_progress))


def add_verify_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    verify = sub.add_parser("verify", help="check every file of a run directory (config, checkpoints, export, log)",
                            description="Check every file of a run: what is intact and what is not, like a "
                                        "filesystem check. Exits 1 when something is damaged. Reads only.")
    verify.add_argument("run", metavar="RUN_DIR", help="the run directory (runs/NNN-name)")
    return verify


def prepare_verify(args: argparse.Namespace) -> None:
    if not Path(args.run).is_dir():
        raise FaceganError(f"run directory {args.run} does not exist")


def run_verify(args: argparse.Namespace) -> int:
    from facegan.training.runlock import describe_holder, holder
    from facegan.training.verify import resume_checkpoint, verify_run

    checks = verify_run(args.run)
    in_use = holder(args.run)
    print(f"{args.run}" + (f" (in use by {describe_holder(in_use)}: training goes on as it is checked)"
                           if in_use is not None else ""))
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"  {c.name:<{width}}  " + (f"ok   {c.detail}" if c.problem is None else f"BAD  {c.problem}"))
    damaged = [c for c in checks if c.problem is not None]
    usable = resume_checkpoint(checks)
    resume = f"; --resume uses {usable}" if usable else "; no checkpoint to resume from"
    print(f"{len(damaged)} of {len(checks)} files damaged or missing{resume}")
    return 1 if damaged else 0


COMMANDS = [Command("train", add_train_parser, prepare_train, run_train),
            Command("verify", add_verify_parser, prepare_verify, run_verify)]
