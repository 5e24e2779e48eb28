"""The model registry: an architecture name -> how to build its G and D, and how to rebuild its G
from an export's metadata. The trainer, checkpoints, ``sample``, ``eval``, the notebook and the app go
through these functions and never name an architecture.

Each architecture is a module in this package with two functions:

- ``build_models(cfg, channels, resolution) -> (G, D)``: fresh networks for a TrainConfig and data of
  shape (channels, resolution, resolution);
- ``generator_from_meta(meta) -> G``: the generator an export describes (``meta`` is what its
  ``G.arch()`` returned when it was saved).

Every generator takes z of shape (N, G.latent_dim) and returns (N, C, H, W) in [-1, 1], and has
``arch() -> dict`` (with at least "arch", "latent_dim", "channels", "resolution"). Every
discriminator returns one logit per image. This file imports no torch, so the CLI and config can list
the names without paying for it.

    >>> ARCHITECTURES
    ('dcgan', 'stylegan2', 'mlp')
"""
from __future__ import annotations

import importlib
from types import ModuleType

from facegan.errors import FaceganError

_MODULES = {"dcgan": "facegan.models.dcgan", "stylegan2": "facegan.models.stylegan2",
            "mlp": "facegan.models.mlp"}  # imported on first use
ARCHITECTURES = tuple(_MODULES)


def architecture(name: str) -> ModuleType:
    """The module that implements architecture ``name``."""
    if name not in _MODULES:
        raise FaceganError(f"unknown architecture {name!r}; this facegan has {', '.join(ARCHITECTURES)}")
    return importlib.import_module(_MODULES[name])


def build_models(cfg, channels: int, resolution: int):
    """(G, D) for ``cfg.arch``, sized for images of shape (channels, resolution, resolution)."""
    return architecture(cfg.arch).build_models(cfg, channels, resolution)


def generator_from_meta(meta: dict):
    """Rebuild the generator an export's ``arch`` metadata describes (weights not loaded)."""
    return architecture(meta.get("arch", "?")).generator_from_meta(meta)
