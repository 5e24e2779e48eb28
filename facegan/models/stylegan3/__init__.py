"""StyleGAN3 (Karras et al., 2021, "Alias-Free Generative Adversarial Networks"): the generator, exact to
NVIDIA's stylegan3 (``training/networks_stylegan3.py`` with the reference ops ``_filtered_lrelu_ref`` and
``_upfirdn2d_ref``), for its pre-trained networks.

Import-only: facegan reads NVIDIA's StyleGAN3 pickles (``facegan import stylegan3``) and samples, edits and
projects with them; it does not train StyleGAN3 (its alias-free discriminator-side recipe and the filters'
GPU kernels are outside this CPU-first project), so the registry lists it among the generator-only
architectures, not in ``--arch``. The network is imported from ``networks.py`` on first use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from facegan.models import lazy_networks

if TYPE_CHECKING:
    from facegan.models.stylegan3.networks import Generator

__getattr__ = lazy_networks(__name__)
