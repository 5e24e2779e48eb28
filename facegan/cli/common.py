"""What the commands share: the one-line-error parser, the Command record each group module lists,
the parent parsers for --device / --generator / --truncation, small argument checks, and the generator a
command draws from. Torch-free at import."""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from facegan.config import DEVICE_HELP, DEVICE_PATTERN
from facegan.errors import FaceganError
from facegan.fileio import DEFAULT_GENERATOR, GENERATOR_FILE, SHIPPED_MODELS, append_jsonl, export_path, shipped_model

if TYPE_CHECKING:
    import torch


class Parser(argparse.ArgumentParser):
    """Bad arguments -> one line (what was wrong, where to look), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class Parents:
    """Parent parsers for the options several commands share (each declared once)."""
    device: argparse.ArgumentParser  # --device
    generator: argparse.ArgumentParser  # --generator (and --device)
    shows_faces: argparse.ArgumentParser  # --generator defaulting to the shipped one (and --device)
    truncation: argparse.ArgumentParser  # --truncation


@dataclass(frozen=True)
class Command:
    """One command: how its parser is added, how its arguments are prepared before torch is imported, what
    it runs."""
    name: str
    add_parser: Callable[[argparse._SubParsersAction, Parents], argparse.ArgumentParser]
    prepare: Callable[[argparse.Namespace], None]  # checks the arguments (one-line errors), parses some in place
    run: Callable[[argparse.Namespace], int | None]  # an exit status of its own, or None for 0


def make_parents() -> Parents:
    uses_device = argparse.ArgumentParser(add_help=False)
    uses_device.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    draws = argparse.ArgumentParser(add_help=False, parents=[uses_device])
    draws.add_argument("--exact", action="store_true",
                       help="StyleGAN3: draw with NVIDIA's reference ops instead of the fast path (the same faces "
                            "to 1e-4, several times slower and larger; other generators have one path)")
    uses_generator = argparse.ArgumentParser(add_help=False, parents=[draws])
    uses_generator.add_argument("--generator", required=True, metavar="PATH",
                                help=f"a run directory (its {GENERATOR_FILE} is used) or a {GENERATOR_FILE} file")
    # sample / interpolate / mix / edit / project only read a generator, so the shipped one is a safe
    # default; directions and eval write or judge one, and must be told which
    shows_faces = argparse.ArgumentParser(add_help=False, parents=[draws])
    shows_faces.add_argument("--generator", default=str(shipped_model(DEFAULT_GENERATOR)), metavar="PATH",
                             help=f"a run directory (its {GENERATOR_FILE} is used) or a {GENERATOR_FILE} file "
                                  f"(default: the shipped {SHIPPED_MODELS}/{DEFAULT_GENERATOR})")
    truncates = argparse.ArgumentParser(add_help=False)
    truncates.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                           help="style generators: pull each face towards the average face, 0 = the average, "
                                "1 = none (default 1; 0.7 is a common choice)")
    return Parents(uses_device, uses_generator, shows_faces, truncates)


def prepare_shared(args: argparse.Namespace) -> None:
    """Prepare the shared options, after each command's own: check them, and resolve ``args.generator`` to
    the export file (a run directory means its generator.safetensors)."""
    if "truncation" in args and not 0 <= args.truncation <= 1:
        raise FaceganError(f"--truncation must be between 0 and 1 (got {args.truncation})")
    if "device" in args and not re.fullmatch(DEVICE_PATTERN, args.device):  # train: only if --device was given
        raise FaceganError(f"{DEVICE_HELP} (got {args.device!r})")
    if "generator" in args:
        args.generator = export_path(args.generator)


def generator_and_device(args: argparse.Namespace) -> tuple[torch.nn.Module, torch.device]:
    """The generator of ``--generator`` (with ``--exact``: StyleGAN3's reference ops), loaded on the device
    ``--device`` picks, and that device. For a command's run: it imports torch."""
    from facegan.interop.export import load_generator
    from facegan.training.device import pick_device

    device = pick_device(args.device)
    return load_generator(args.generator, device, exact=args.exact), device


def progress_bars(no_progress: bool = False) -> bool:
    """Progress bars only on a terminal: tqdm redraws its line with carriage returns, which a log file keeps
    as one endless line. Elsewhere the commands print plain lines (training: one per epoch)."""
    return not no_progress and sys.stderr.isatty()


def seed_list(flag: str, text: str) -> list[int]:
    try:
        seeds = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise FaceganError(f"{flag} takes comma-separated integer seeds such as 1,2,3 (got {text!r})")
    return seeds


def check_export_name(out: Path, source: str | None) -> None:
    if out.suffix != ".safetensors":
        raise FaceganError(f"--out must name a .safetensors file (got {out})")
    if out.is_dir():
        raise FaceganError(f"--out {out} is a folder; name the .safetensors file to write")
    if source is not None and out.resolve() == Path(source).resolve():
        raise FaceganError(f"--out {out} would overwrite the file being imported")


def append_to_run_metrics(generator: Path, record: dict) -> None:
    """Append ``record`` to the metrics.jsonl of the run the generator belongs to (if it is a run's export)."""
    run_dir = generator.parent
    if (run_dir / "config.json").is_file():
        append_jsonl(run_dir / "metrics.jsonl", record)
        print(f"appended to {run_dir / 'metrics.jsonl'}")
