"""A run directory checked file by file, as a filesystem check does: ``facegan verify RUN``.

Every file a run needs is opened and checked for what it claims: config.json is a training config;
each checkpoint loads, matches the checksum saved with it, holds the step its name says and the run's
config; the generator export loads into its architecture and matches its checksum; every line of
log.jsonl is a record. Nothing is written, and the run's lock is not taken: a run that is training can
be checked (its writes are atomic, so a file is old or new, never half-written).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facegan.errors import FaceganError
from facegan.fileio import GENERATOR_FILE
from facegan.training import state as ckpt


@dataclass
class FileCheck:
    name: str  # the file, relative to the run directory
    problem: str | None  # what is wrong with it; None: intact
    detail: str = ""  # what an intact file holds


def verify_run(run_dir: str | Path) -> list[FileCheck]:
    """One FileCheck per file a run needs: config.json, each checkpoint, the export, log.jsonl."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FaceganError(f"run directory {run_dir} does not exist")
    config = ckpt.run_config(run_dir)
    return [check_config(run_dir, config), *check_checkpoints(run_dir, config), check_export(run_dir),
            check_log(run_dir)]


def resume_checkpoint(checks: list[FileCheck]) -> str | None:
    """The checkpoint ``--resume`` would use, read off the checks (the newest intact one: the same test
    :func:`facegan.training.state.resume_point` makes), without loading anything again."""
    intact = [c.name for c in checks if c.name.startswith("checkpoints/state-") and c.problem is None]
    return intact[-1].removeprefix("checkpoints/") if intact else None


def problem_of(error: FaceganError, path: Path) -> str:
    """A loader's one-line error about ``path``, said of the file in its row: the path dropped."""
    return str(error).replace(f"{path} ", "").replace(str(path), path.name)


def check_config(run_dir: Path, config: dict | None) -> FileCheck:
    path = run_dir / "config.json"
    if not path.is_file():
        return FileCheck(path.name, "missing")
    if config is None:
        return FileCheck(path.name, "not a readable training config (damaged?)")
    return FileCheck(path.name, None, f"{config.get('arch', 'dcgan')}, {config.get('epochs')} epochs")


def check_checkpoints(run_dir: Path, config: dict | None) -> list[FileCheck]:
    found = ckpt.list_checkpoints(run_dir)
    if not found:
        return [FileCheck("checkpoints/", "no state-*.pt checkpoint: nothing to resume from")]
    checks = []
    for path in found:
        name = f"checkpoints/{path.name}"
        try:
            state = ckpt.checked_state(path, config)
        except FaceganError as e:
            checks.append(FileCheck(name, problem_of(e, path)))
            continue
        checks.append(FileCheck(name, None, f"step {state['step']}, epoch {state['epoch']}, "
                                            f"{state['images_seen']:,} images"))
    return checks


def check_export(run_dir: Path) -> FileCheck:
    from facegan.interop.export import load_generator

    path = run_dir / GENERATOR_FILE
    if not path.is_file():
        return FileCheck(path.name, "missing")
    try:
        arch = load_generator(path).arch()
    except FaceganError as e:
        return FileCheck(path.name, problem_of(e, path))
    return FileCheck(path.name, None, f"{arch['arch']}, {arch['resolution']} px")


def check_log(run_dir: Path) -> FileCheck:
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return FileCheck(path.name, "missing")
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    torn = [number for number, line in enumerate(lines, 1) if ckpt.log_record(line) is None]
    if torn:
        return FileCheck(path.name, f"line {torn[0]} of {len(lines)} is not a log record (torn or damaged; "
                                    f"a resume drops it)")
    last = f", the last of step {ckpt.log_record(lines[-1])['step']}" if lines else ""
    return FileCheck(path.name, None, f"{len(lines)} records{last}")
