"""ProGAN (Karras et al., 2018): progressive growing of GANs, the roadmap's step between DCGAN and StyleGAN.

``config.py``: its settings, :class:`ProGANConfig` (torch-free, so the CLI can list them); ``networks.py``:
pixel norm, equalised learning rate, minibatch standard deviation, a toRGB / fromRGB per resolution and
the fade-in, plus the registry's entry points. The network names below are imported from ``networks.py``
on first use, so importing the config pays for no torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from facegan.models import lazy_networks
from facegan.models.progan.config import ProGANConfig

CONFIG = ProGANConfig  # what the registry reads

if TYPE_CHECKING:
    from facegan.models.progan.networks import Discriminator, Generator

__getattr__ = lazy_networks(__name__)
