"""Training-state checkpoints (resume) and generator exports (inference).

- ``checkpoints/state-<step>.pt``: everything needed to continue bit-for-bit (weights, EMA weights,
  optimisers, schedulers, position in the epoch, RNG states, config, format version). Written
  atomically; read back with ``torch.load(weights_only=True)``, which refuses pickled code. The loss
  history is not in it (it grows with every step): it is the run's ``log.jsonl``, read back by
  :func:`read_history`. Older formats are migrated on load (:func:`migrate`).
- ``generator.safetensors``: the generator's weights (the EMA generator when the run has one) with
  its architecture and training config in the metadata, so :func:`load_generator` rebuilds it from
  that one file through the model registry.
"""
from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from facegan.errors import FaceganError
from facegan.fileio import atomic_path, export_path
from facegan.models import generator_from_meta

STATE_FORMAT = "facegan.train_state"
STATE_VERSION = 2  # 2: no loss history (log.jsonl has it), EMA generator, images_seen
EXPORT_FORMAT = "facegan.generator"
EXPORT_VERSION = "1"
_STATE_NAME = re.compile(r"state-(\d+)\.pt$")


def save_state(run_dir: Path, state: dict[str, Any], keep: int) -> Path:
    """Write ``state`` as checkpoints/state-<step>.pt atomically and keep only the newest ``keep``."""
    folder = Path(run_dir) / "checkpoints"
    path = folder / f"state-{state['step']:08d}.pt"
    with atomic_path(path) as tmp:
        torch.save({"format": STATE_FORMAT, "format_version": STATE_VERSION, **state}, tmp)
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink()
    return path


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Training-state files of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    found = [p for p in folder.glob("state-*.pt") if _STATE_NAME.search(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(_STATE_NAME.search(p.name).group(1)))


def load_state(path: Path) -> dict[str, Any]:
    """Read a training-state file safely; anything else gets a one-line explanation."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FaceganError(f"checkpoint {path} not found") from None
    except pickle.UnpicklingError as e:
        raise FaceganError(f"refused to load {path}: it contains pickled objects that are not plain "
                           f"tensors/containers ({str(e).splitlines()[0][:120]})") from None
    except Exception as e:  # truncated zip, not a torch file at all, ...
        raise FaceganError(f"{path} is not a readable checkpoint (truncated or corrupt?): "
                           f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise FaceganError(f"{path} is not a facegan training checkpoint")
    if state.get("format_version") not in (1, STATE_VERSION):
        raise FaceganError(f"{path} has checkpoint format {state.get('format_version')}, this facegan "
                           f"reads 1 to {STATE_VERSION}: update facegan to resume it")
    return migrate(state)


def migrate(state: dict[str, Any]) -> dict[str, Any]:
    """Bring a checkpoint of an older format to the current one (the keys the trainer restores).

    Version 1 (before the model registry): the loss history was stored in the state, there was no EMA
    generator, and images were counted as steps x batch (one process). Its config lacks the newer
    fields, whose defaults (dcgan, EMA and augmentation off) are exactly what version 1 trained with.
    """
    if state["format_version"] == 1:
        state = {k: v for k, v in state.items() if k != "history"}
        state.update(format_version=2, generator_ema=None,
                     images_seen=state["step"] * state["config"]["batch_size"])
    return state


def latest_state(run_dir: Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FaceganError(f"run directory {run_dir} does not exist")
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise FaceganError(f"{run_dir} has no checkpoints/state-*.pt to resume from")
    return load_state(checkpoints[-1])


def load_module_state(module: torch.nn.Module, weights: dict[str, torch.Tensor], what: str) -> None:
    """load_state_dict with a one-line message when the file holds another architecture."""
    try:
        module.load_state_dict(weights)
    except RuntimeError as e:
        first = next((ln.strip() for ln in str(e).splitlines()[1:] if ln.strip()), str(e))
        raise FaceganError(f"{what} does not fit this model (another architecture or width?): {first[:200]}") from None


def export_generator(generator: torch.nn.Module, path: Path, train_config: dict | None = None, half: bool = False,
                     source: dict | None = None, metrics: dict | None = None) -> Path:
    """Save the generator's weights + architecture (+ training config) as safetensors, atomically.
    ``half``: floating-point weights stored as fp16 (half the size; loading casts them back to fp32).
    ``source``: where imported weights came from (file, licence, ...), kept in the metadata.
    ``metrics``: quality figures (a `facegan eval` record), shown by the app's model card."""
    weights = {k: v.detach().to("cpu") for k, v in generator.state_dict().items()}
    weights = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    metadata = {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION,
                "arch": json.dumps(generator.arch()), "train_config": json.dumps(train_config or {})}
    if source is not None:
        metadata["source"] = json.dumps(source, default=str)
    if metrics is not None:
        metadata["metrics"] = json.dumps(metrics)
    with atomic_path(path) as tmp:
        save_file(weights, str(tmp), metadata=metadata)
    return Path(path)


def read_export(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(weights, metadata) of a generator export (or run directory), with clear errors for every wrong
    kind of file."""
    path = export_path(path)
    if not path.is_file():
        raise FaceganError(f"generator file {path} not found")
    if path.suffix != ".safetensors":
        raise FaceganError(f"{path} is not a .safetensors generator export; pass the generator.safetensors "
                           f"of a run directory (state-*.pt checkpoints are for --resume)")
    return read_tagged_safetensors(path, EXPORT_FORMAT, "facegan generator export")


def read_tagged_safetensors(path: Path, fmt: str, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(weights, metadata) of a safetensors file whose metadata says format ``fmt``; a corrupt file or
    one of another kind (``kind`` names the expected one) gets one line. Reading runs no code."""
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


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a generator from its export (or a run directory's) alone, in eval mode on ``device``."""
    weights, metadata = read_export(path)
    try:
        arch = json.loads(metadata["arch"])
        generator = generator_from_meta(arch)
    except FaceganError as e:
        raise FaceganError(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:  # metadata edited or written by something else
        raise FaceganError(f"{path} has unreadable architecture metadata ({type(e).__name__}: {e})") from None
    load_module_state(generator, weights, f"{path}")  # load_state_dict casts fp16 files to the model's fp32
    return generator.to(device).eval()


def read_history(run_dir: Path, up_to_step: int | None = None) -> list[dict]:
    """The run's log records (log.jsonl), those with step <= ``up_to_step`` if given."""
    log = Path(run_dir) / "log.jsonl"
    if not log.is_file():
        return []
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [r for r in records if up_to_step is None or r["step"] <= up_to_step]


def export_config(path: str | Path) -> dict:
    """The training config stored in an export's metadata."""
    return json.loads(read_export(path)[1].get("train_config", "{}"))
