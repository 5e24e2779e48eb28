"""facegan: face generation with GANs, from the course project's DCGAN to StyleGAN2.

Rooms along the data flow: ``data`` (image folders, the CelebA subset, procedural faces and digits) ->
``models`` (a registry: dcgan, stylegan2, mlp) -> ``training`` (one trainer) -> ``evaluation`` (metrics)
-> ``latent`` (seeds -> codes -> images) -> ``editing`` (attributes, directions, projection) -> ``interop``
(exports, NVIDIA's pickles read safely, downloads) -> ``app`` and ``cli``.

Draw faces from a trained run::

    from facegan import load_generator, sample
    faces = sample(load_generator("runs/001-quick"), n=16, seed=0)

``import facegan`` (and so ``python -m facegan``) is light: the names below that need torch are
imported on first use, so the command line reports a mistake without waiting for torch to load.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from facegan.config import PRESETS, TrainConfig, build_config
from facegan.errors import FaceganError

__version__ = "0.1.0"

# public name -> the submodule that defines it (imported on first access: they all import torch)
_LAZY = {
    "export_generator": "interop.export", "load_generator": "interop.export",
    "FaceDataset": "data.images", "load_dataset": "data.images", "load_faces": "data.images",
    "interpolate": "latent", "sample": "latent",
    "Discriminator": "models.dcgan", "Generator": "models.dcgan",  # the course project's classic names
    "train": "training.loop",
}

__all__ = ["TrainConfig", "build_config", "PRESETS", "Generator", "Discriminator", "FaceDataset",
           "load_dataset", "load_faces", "train", "export_generator", "load_generator", "sample",
           "interpolate", "FaceganError", "__version__"]

if TYPE_CHECKING:  # type checkers and IDEs see the real names
    from facegan.data.images import FaceDataset, load_dataset, load_faces
    from facegan.interop.export import export_generator, load_generator
    from facegan.latent import interpolate, sample
    from facegan.models.dcgan import Discriminator, Generator
    from facegan.training.loop import train


def __getattr__(name: str):
    """PEP 562: import a torch-backed public name on first access, then cache it as a module global."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
