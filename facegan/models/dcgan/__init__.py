"""DCGAN (Radford et al., 2015): the course project's architecture.

``config.py``: its settings, :class:`DCGANConfig` (torch-free, so the CLI can list them); ``networks.py``: the
networks and the registry's entry points (``build_models``, ``generator_from_meta``). The network names
below are imported from ``networks.py`` on first use, so importing the config pays for no torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from facegan.models import lazy_networks
from facegan.models.dcgan.config import DCGANConfig

CONFIG = DCGANConfig  # what the registry reads

if TYPE_CHECKING:
    from facegan.models.dcgan.networks import Discriminator, Generator

__getattr__ = lazy_networks(__name__)
