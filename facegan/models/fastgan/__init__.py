"""FastGAN (Liu et al., "Towards Faster and Stabilized GAN Training for High-fidelity Few-shot Image Synthesis",
ICLR 2021): a light generator whose coarse maps gate the fine ones (skip-layer excitation), the generator
Projected GAN trains against its projected discriminator.

``config.py``: its settings, :class:`FastGANConfig` (torch-free, so the CLI can list them); ``networks.py``: the
networks and the registry's entry points (``build_models``, ``generator_from_meta``). The network names
below are imported from ``networks.py`` on first use, so importing the config pays for no torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from facegan.models import lazy_networks
from facegan.models.fastgan.config import FastGANConfig

CONFIG = FastGANConfig  # what the registry reads

if TYPE_CHECKING:
    from facegan.models.fastgan.networks import Generator

__getattr__ = lazy_networks(__name__)
