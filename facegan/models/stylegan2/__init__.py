"""StyleGAN2 (Karras et al., 2020), exact to NVIDIA's stylegan2-ada-pytorch.

``config.py``: its settings, :class:`StyleGAN2Config` (torch-free, so the CLI can list them); ``networks.py``: the
networks and the registry's entry points (``build_models``, ``generator_from_meta``); ``adain.py``: StyleGAN 1's
AdaIN style block, the ``style_block="adain"`` option; ``layers.py``: the ops and layers both style blocks
and the discriminator share (imported by ``networks.py`` and ``adain.py``, importing neither). The network
names below are imported from ``networks.py`` on first use, so importing the config pays for no torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from facegan.models import lazy_networks
from facegan.models.stylegan2.config import StyleGAN2Config

CONFIG = StyleGAN2Config  # what the registry reads

if TYPE_CHECKING:
    from facegan.models.stylegan2.networks import Discriminator, Generator

__getattr__ = lazy_networks(__name__)
