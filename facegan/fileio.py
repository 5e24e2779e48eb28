"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A crash or Ctrl-C mid-write leaves the previous file intact instead of a truncated one. The new file
gets the permissions a plain ``open(path, "w")`` would give it (0666 less the umask), not
``tempfile.mkstemp``'s private 0600.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Iterator

from facegan.errors import FaceganError

GENERATOR_FILE = "generator.safetensors"  # what a run directory's generator export is called


def _create_beside(path: Path) -> Path:
    """Create a new, empty, uniquely named file in ``path``'s folder, mode 0666 less the umask.

    Like ``mkstemp`` (O_EXCL: never an existing file) but with open()'s default mode: the OS applies
    the umask (and a folder's default ACL) at creation, with no process-wide umask juggling.
    """
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {path}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_beside(path)
    mode = os.stat(tmp).st_mode & 0o7777
    try:
        yield tmp
        os.chmod(tmp, mode)  # a writer that recreates the file (safetensors' save_file: 0600) gets it back
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cache_root(cache_dir: str = "") -> Path:
    """Where decoded image caches, metric references and downloaded weights live."""
    return Path(cache_dir or os.environ.get("FACEGAN_CACHE") or Path.home() / ".cache" / "facegan")


def export_path(arg: str | os.PathLike) -> Path:
    """A generator export given by its file or its run directory (which means DIR/generator.safetensors),
    checked to exist, with a one-line error for each way it can be missing. Torch-free, so the CLI
    checks --generator before importing anything heavy."""
    path = Path(arg)
    if path.is_dir():
        export = path / GENERATOR_FILE
        if export.is_file():
            return export
        if any((path / "checkpoints").glob("state-*.pt")):
            raise FaceganError(f"{arg} has no {GENERATOR_FILE} yet: train it first (facegan train --resume {arg})")
        if (path / "config.json").is_file():
            raise FaceganError(f"{arg} has no {GENERATOR_FILE} yet: train it first (a run writes it when its "
                               "first epoch ends)")
        raise FaceganError(f"{arg} is a folder but not a run directory (no {GENERATOR_FILE} or config.json in it); "
                           f"pass a run directory such as runs/001-quick, or a {GENERATOR_FILE} file")
    if not path.is_file():
        raise FaceganError(f"generator file {arg} not found; pass a run directory or its {GENERATOR_FILE}")
    return path


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """One JSON line appended to ``path`` (run logs: log.jsonl, metrics.jsonl)."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


SHIPPED_MODELS = "models"  # the repository's folder of shipped model files (classifier, default generator)


def shipped_model(name: str) -> Path:
    """A file of the repository's models/ folder: ./models/NAME if there, else beside the package
    (a checkout or editable install run from anywhere). The path is returned even if missing: callers
    say what to do then."""
    here = Path(SHIPPED_MODELS) / name
    beside_package = Path(__file__).resolve().parent.parent / SHIPPED_MODELS / name
    return here if here.is_file() or not beside_package.is_file() else beside_package
