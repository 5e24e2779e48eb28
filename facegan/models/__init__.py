"""The model registry: an architecture name -> how to build its G and D, and how to rebuild its G
from an export's metadata. The trainer, checkpoints, ``sample``, ``eval``, the notebook and the app go
through these functions and never name an architecture.

Each architecture is a subpackage: ``config.py`` holds its own settings dataclass (torch-free; the
package's ``CONFIG``), stored inside :class:`facegan.config.TrainConfig` as ``cfg.model``; ``networks.py``
holds the networks and two functions:

- ``build_models(model_cfg, latent_dim, channels, resolution) -> (G, D)``: fresh networks for data of
  shape (channels, resolution, resolution);
- ``generator_from_meta(meta) -> G``: the generator an export describes (``meta`` is what its
  ``G.arch()`` returned when it was saved).

``classifiers/`` holds the attribute and digit CNNs; ``summary.py`` the layer tables.

What a G and a D must do is declared in ``contract.py``: every generator derives from ``GeneratorBase``
(z (N, G.latent_dim) -> (N, C, H, W) in [-1, 1], ``arch() -> dict`` with at least "arch", "latent_dim",
"channels", "resolution") and every discriminator from ``DiscriminatorBase`` (logits, one or more per
image). A network switches an optional feature on with a flag there (``STYLE``: mapping and synthesis,
w_dim, num_ws; ``CAN_TRANSFORM``; ``GROWS``; ``DRAWS_RANDOM``; ``HAS_FAST_PATH``), and callers ask the
contract's predicates (``is_style(G)``, ...), so a new architecture says what it has in one place;
tests/test_contract.py checks every registered one against what it declares. This file imports no torch,
so the CLI and config can list the names without paying for it. A generator-only architecture
(``stylegan3``: imported, never trained) has ``networks.py`` with ``generator_from_meta`` only; its
``build_models`` refuses in one line.

    >>> ARCHITECTURES
    ('dcgan', 'stylegan2', 'mlp', 'progan', 'fastgan')
"""
from __future__ import annotations

import importlib
from types import ModuleType

from facegan.errors import FaceganError

_PACKAGES = {"dcgan": "facegan.models.dcgan", "stylegan2": "facegan.models.stylegan2",
             "mlp": "facegan.models.mlp", "progan": "facegan.models.progan",
             "fastgan": "facegan.models.fastgan"}  # imported on first use
_GENERATOR_ONLY = {"stylegan3": "facegan.models.stylegan3"}  # imported pre-trained generators: no D, no config
ARCHITECTURES = tuple(_PACKAGES)  # what --arch trains
DISCRIMINATORS = ("native", "projected", "native+projected")  # what --disc pairs with any of them
GENERATOR_ARCHITECTURES = ARCHITECTURES + tuple(_GENERATOR_ONLY)  # what an export may hold


def _package(name: str) -> str:
    if name in _GENERATOR_ONLY:
        return _GENERATOR_ONLY[name]
    if name not in _PACKAGES:
        raise FaceganError(f"unknown architecture {name!r}; this facegan has {', '.join(GENERATOR_ARCHITECTURES)}")
    return _PACKAGES[name]


def config_class(name: str) -> type:
    """The settings dataclass of architecture ``name`` (torch-free)."""
    return importlib.import_module(_package(name)).CONFIG


def architecture(name: str) -> ModuleType:
    """The networks module of architecture ``name`` (imports torch)."""
    return importlib.import_module(_package(name) + ".networks")


def build_models(cfg, channels: int, resolution: int):
    """(G, D) for a TrainConfig's ``arch`` and ``model`` settings, sized for images of shape
    (channels, resolution, resolution); D is the one ``cfg.disc`` names (the architecture's own, the
    projected one of ``facegan.models.projected``, or both)."""
    G, D = architecture(cfg.arch).build_models(cfg.model, cfg.latent_dim, channels, resolution)
    if cfg.disc != "native":
        from facegan.models.projected.networks import build_discriminator

        D = build_discriminator(cfg.disc, cfg.projected, D, channels)
    return G, D


def generator_from_meta(meta: dict):
    """Rebuild the generator an export's ``arch`` metadata describes (weights not loaded)."""
    return architecture(meta.get("arch", "?")).generator_from_meta(meta)


def lazy_networks(package: str):
    """A module ``__getattr__`` (PEP 562) for an architecture package: ``from facegan.models.dcgan import
    Generator`` imports ``networks.py`` (and torch) on first use, so importing the package's config does not."""
    def __getattr__(name: str):
        networks = importlib.import_module(f"{package}.networks")
        try:
            return getattr(networks, name)
        except AttributeError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    return __getattr__

