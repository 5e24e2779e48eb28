"""Files: atomic writes, where things are (caches, shipped models, run exports), and reading the
format-tagged safetensors files facegan writes (torch is imported only when one is read).

Atomic writes go to a temporary file beside the target, then rename over it: a crash or Ctrl-C mid-write leaves the previous file intact instead of a truncated one. The new file
gets the permissions a plain ``open(path, "w")`` would give it (0666 less the umask), not
``tempfile.mkstemp``'s private 0600.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from facegan.errors import FaceganError

if TYPE_CHECKING:
    import torch

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
DEFAULT_GENERATOR = "stylegan64.safetensors"  # in models/: the app's first model, the CLI's default --generator


def shipped_model(name: str) -> Path:
    """A file of the repository's models/ folder: ./models/NAME if there, else beside the package
    (a checkout or editable install run from anywhere). The path is returned even if missing: callers
    say what to do then."""
    here = Path(SHIPPED_MODELS) / name
    beside_package = Path(__file__).resolve().parent.parent / SHIPPED_MODELS / name
    return here if here.is_file() or not beside_package.is_file() else beside_package


def load_module_state(module: "torch.nn.Module", weights: dict[str, "torch.Tensor"], what: str) -> None:
    """load_state_dict with a one-line message when the file holds another architecture."""
    try:
        module.load_state_dict(weights)
    except RuntimeError as e:
        first = next((ln.strip() for ln in str(e).splitlines()[1:] if ln.strip()), str(e))
        raise FaceganError(f"{what} does not fit this model (another architecture or width?): {first[:200]}") from None


def read_tagged_safetensors(path: Path, fmt: str, kind: str) -> tuple[dict[str, "torch.Tensor"], dict[str, str]]:
    """(weights, metadata) of a safetensors file whose metadata says format ``fmt``; a corrupt file or
    one of another kind (``kind`` names the expected one) gets one line. Reading runs no code."""
    from safetensors import SafetensorError, safe_open  # imports torch: only when a file is read

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            weights = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise FaceganError(f"{path} is not a readable safetensors file (truncated or corrupt?): {e}") from None
    if metadata.get("format") != fmt:
        raise FaceganError(f"{path} is a safetensors file but not a {kind} (its metadata format is "
                           f"{metadata.get('format')!r})")
    return weights, metadata
