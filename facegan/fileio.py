"""Files: atomic writes, where things are (caches, shipped models, run exports), and reading the
format-tagged safetensors files facegan writes (torch is imported only when one is read).

Atomic writes go to a temporary file beside the target, then rename over it: a crash or Ctrl-C mid-write
leaves the previous file intact instead of a truncated one. They are durable too, as databases make them:
the file's data is fsync'ed before the rename and the folder after it, so a power cut cannot leave the
new name pointing at unwritten blocks. A write that fails (a full disk, a read-only or vanished folder:
any OSError, or the RuntimeError torch's C++ writer turns one into) raises :class:`WriteFailed`, one line
naming the file, with the previous file untouched. The new file gets the permissions a plain
``open(path, "w")`` would give it (0666 less the umask), not ``tempfile.mkstemp``'s private 0600.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from facegan.errors import FaceganError, first_line

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


class WriteFailed(FaceganError):
    """A file could not be written (one line: which, and why); whatever was at its path is unchanged."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"could not write {path}: {reason}")
        self.path = path


def _write_failure(error: BaseException, folder: Path) -> str | None:
    """Why a write failed, if ``error`` is a write failure: any OSError; torch's C++ writer reports a full
    disk as a RuntimeError ("basic_ios::clear: iostream error", "PytorchStreamWriter failed ..."),
    recognised by its wording or by a folder with no space left."""
    if isinstance(error, OSError):
        return error.strerror or str(error) or type(error).__name__
    if isinstance(error, RuntimeError):
        text = str(error)
        try:
            full = shutil.disk_usage(folder).free < 1 << 20
        except OSError:
            full = False
        if full or any(word in text for word in ("iostream", "PytorchStreamWriter", "unexpected pos")):
            return "no space left on the device" if full else first_line(error)
    return None


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the OS lets a folder be opened: not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; the data itself was synced
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is synced and replaces ``path``. A
    failed write raises :class:`WriteFailed` and leaves ``path`` as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_beside(path)
    except OSError as e:
        raise WriteFailed(path, e.strerror or str(e)) from None
    mode = os.stat(tmp).st_mode & 0o7777
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # the data on disk before the name points at it
        os.chmod(tmp, mode)  # a writer that recreates the file (safetensors' save_file: 0600) gets it back
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    except (OSError, RuntimeError) as e:
        reason = _write_failure(e, path.parent)
        if reason is None:
            raise
        raise WriteFailed(path, reason) from None
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
        shipped = shipped_model(f"{arg}.safetensors") if path.name == str(arg) and not path.suffix else None
        if shipped is not None and shipped.is_file():
            return shipped  # a shipped model by name: --generator celeba64
        raise FaceganError(f"generator file {arg} not found; pass a run directory, its {GENERATOR_FILE} or the "
                           f"name of a shipped model ({', '.join(SHIPPED_GENERATORS)})")
    return path


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """One JSON line appended to ``path`` (run logs: log.jsonl, metrics.jsonl), whole or not at all: a
    failed append (a full disk) is cut back to where it started and raises :class:`WriteFailed`."""
    line = memoryview((json.dumps(record) + "\n").encode())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                while line:  # os.write may write part of it (a disk filling up) before it fails
                    line = line[os.write(fd, line):]
            except OSError:
                os.ftruncate(fd, start)  # no half line for the next reader
                raise
        finally:
            os.close(fd)
    except OSError as e:
        raise WriteFailed(Path(path), e.strerror or str(e)) from None


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


SHIPPED_GENERATORS = ("stylegan64", "celeba64")  # the generators models/ ships, by name
SHIPPED_MODELS = "models"  # the repository's folder of shipped model files (classifier, default generator)
DEFAULT_GENERATOR = "stylegan64.safetensors"  # in models/: the app's first model, the CLI's default --generator


def shipped_model(name: str) -> Path:
    """A shipped model file: ./models/NAME if there, else the models/ folder beside the package (a checkout
    or editable install run from anywhere), else the copy an installed wheel carries (facegan/shipped/,
    setup.py puts it there). The path is returned even if missing: callers say what to do then."""
    here = Path(SHIPPED_MODELS) / name
    package = Path(__file__).resolve().parent
    for candidate in (here, package.parent / SHIPPED_MODELS / name, package / "shipped" / name):
        if candidate.is_file():
            return candidate
    return here


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


def content_digest(tree) -> str:
    """SHA-256 of a checkpoint-like tree (dicts, lists, tensors, numbers, strings, None), computed from its
    values, not its file: a file's bytes differ between torch versions, its values do not. A tensor counts
    its dtype, shape and bytes; a dict its keys in sorted order. Written beside the values when saving and
    recomputed when loading, it catches what a format's own framing cannot: a flipped byte in tensor data
    loads without any error from torch or safetensors."""
    import torch

    digest = hashlib.sha256()

    def feed(value) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            digest.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(value, dict):
            digest.update(f"D{len(value)}".encode())
            for key in sorted(value, key=repr):
                digest.update(repr(key).encode())
                feed(value[key])
        elif isinstance(value, (list, tuple)):
            digest.update(f"L{len(value)}".encode())
            for item in value:
                feed(item)
        else:  # int, float, str, bool, None: their repr is exact (floats round-trip)
            digest.update(repr(value).encode())

    feed(tree)
    return digest.hexdigest()
