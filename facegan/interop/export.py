"""The generator export: ``generator.safetensors`` holds a generator's weights (the EMA generator when
the run has one) with its architecture and training config in the metadata, so :func:`load_generator`
rebuilds it from that one file through the model registry. Training writes it; sample, eval, edit,
project, the notebooks and the app read it. Reading runs no code (safetensors).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from facegan.errors import FaceganError
from facegan.fileio import atomic_path, content_digest, export_path, load_module_state, read_tagged_safetensors
from facegan.models import generator_from_meta
from facegan.models.contract import GeneratorBase, has_fast_path

EXPORT_FORMAT = "facegan.generator"
EXPORT_VERSION = "1"


def export_generator(generator: GeneratorBase, path: Path, train_config: dict | None = None, half: bool = False,
                     source: dict | None = None, metrics: dict | None = None) -> Path:
    """Save the generator's weights + architecture (+ training config) as safetensors, atomically.
    ``half``: floating-point weights stored as fp16 (half the size; loading casts them back to fp32).
    ``source``: where imported weights came from (file, licence, ...), kept in the metadata.
    ``metrics``: quality figures (a `facegan eval` record), shown by the app's model card."""
    weights = {k: v.detach().to("cpu") for k, v in generator.state_dict().items()}
    weights = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    metadata = {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION,
                "arch": json.dumps(generator.arch()), "train_config": json.dumps(train_config or {}),
                "checksum": content_digest(weights)}  # safetensors has none: a changed byte would load
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
    weights, metadata = read_tagged_safetensors(path, EXPORT_FORMAT, "facegan generator export")
    if "checksum" in metadata and metadata["checksum"] != content_digest(weights):  # (older exports: none)
        raise FaceganError(f"{path} is damaged: its weights do not match the checksum saved with them "
                           f"(a changed byte: a bad copy or a failing disk)")
    return weights, metadata


def load_generator(path: str | Path, device: str | torch.device = "cpu", exact: bool = False) -> GeneratorBase:
    """Rebuild a generator from its export (or a run directory's) alone, in eval mode on ``device``.
    ``exact``: a StyleGAN3 draws with NVIDIA's reference ops instead of its fast path (the same images to
    1e-4, several times slower; docs/performance.md); other generators have one path."""
    weights, metadata = read_export(path)
    arch = architecture_of(path, metadata)
    try:
        generator = generator_from_meta(arch)
    except FaceganError as e:
        raise FaceganError(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:  # fields missing or of the wrong type: edited or foreign
        raise FaceganError(f"{path} has unreadable architecture metadata ({type(e).__name__}: {e})") from None
    load_module_state(generator, weights, f"{path}")  # load_state_dict casts fp16 files to the model's fp32
    if exact and has_fast_path(generator):
        generator.exact = True
    return generator.to(device).eval()


def architecture_of(path: str | Path, metadata: dict[str, str]) -> dict:
    """The ``arch`` record of an export's metadata (what its generator's ``arch()`` returned)."""
    try:
        arch = json.loads(metadata["arch"])
    except (KeyError, TypeError, ValueError) as e:  # metadata edited or written by something else
        raise FaceganError(f"{path} has unreadable architecture metadata ({type(e).__name__}: {e})") from None
    if not isinstance(arch, dict):
        raise FaceganError(f"{path} has unreadable architecture metadata (not a JSON object)")
    return arch


def load_generator_weights(generator: GeneratorBase, path: str | Path) -> None:
    """Load an export's weights into ``generator`` (fine-tuning), which must be the architecture the export
    describes: another one (or other settings) is refused in one line naming both."""
    weights, metadata = read_export(path)
    saved, built = architecture_of(path, metadata), generator.arch()
    if saved != built:
        differ = sorted(k for k in {*saved, *built} if saved.get(k) != built.get(k))
        raise FaceganError(f"--init-generator {path} holds another generator than this run builds (they differ in "
                           f"{', '.join(differ)}): train with that file's settings (its arch, preset and sizes)")
    load_module_state(generator, weights, str(path))


def export_config(path: str | Path) -> dict:
    """The training config stored in an export's metadata."""
    return json.loads(read_export(path)[1].get("train_config", "{}"))


def trained_on(path: str | Path) -> str | None:
    """What a generator facegan trained learnt from ("10,000 built-in synthetic faces", "12,000 images from
    DIR"), from its metadata only; None for imported ones and exports written before it was recorded."""
    from safetensors import safe_open

    with safe_open(str(export_path(path)), "pt") as f:
        metadata = f.metadata() or {}
    try:
        source = json.loads(metadata.get("source", "{}"))
    except json.JSONDecodeError:
        return None
    return source.get("trained_on") if isinstance(source, dict) else None


def describe_training_data(trained_on: str) -> str:
    """What a generator learnt from, for the done line and `facegan sample`; built-in faces say how to get
    real ones."""
    if "built-in synthetic faces" in trained_on:
        return f"{trained_on} (real faces: facegan download celeba-small, then facegan train)"
    return trained_on
