"""The contract every generator and discriminator declares: what the rest of facegan may rely on, and which
optional features a network has. Each architecture's classes derive from :class:`GeneratorBase` or
:class:`DiscriminatorBase` and switch a feature on by setting its flag; callers ask the predicate below
(``is_style(G)``, ``can_transform(G)``, ...) and never probe attributes. tests/test_contract.py builds every
registered architecture (and every importer's output) and checks that what each declares holds.

Declaring adds no parameter, buffer or random draw: state_dict keys and every image stay as they were.
"""
from __future__ import annotations

import torch
from torch import nn


class GeneratorBase(nn.Module):
    """z (N, latent_dim) -> images (N, channels, resolution, resolution) in [-1, 1] in eval mode (style
    generators: about [-1, 1], unclamped like NVIDIA's), with ``arch() -> dict`` holding at least "arch",
    "latent_dim", "channels" and "resolution": what ``facegan.models.generator_from_meta`` rebuilds it from.

    The flags (class attributes; a subclass sets the ones it has):

    - ``STYLE``: a style generator: ``mapping`` z (N, latent_dim) -> ws (N, num_ws, w_dim) (with
      ``truncation_psi`` and ``w_avg``), ``synthesis`` ws -> images; ``w_dim`` and ``num_ws`` say the sizes.
      Truncation, style mixing, W / W+ edits and projection work on these (``facegan.latent``).
    - ``CAN_TRANSFORM``: ``transformed(rotate, translate)`` is a context in which the faces are drawn turned
      and moved (StyleGAN3's Fourier-feature input).
    - ``GROWS``: follows a progressive-growing schedule: ``set_phase(resolution, alpha)``, ``phase_resolution``
      and ``alpha``; in training mode its images are at the phase's side (ProGAN).
    - ``DRAWS_RANDOM``: draws random numbers in training mode (per-pixel noise, style mixing), all from
      ``rng``, a settable ``torch.Generator`` (None: torch's global stream), so a trainer can checkpoint them.
      A network without the flag draws nothing at random.
    - ``HAS_FAST_PATH``: ``exact`` chooses between NVIDIA's reference ops (True) and a fast path that draws
      the same images up to float rounding (False, the default) (StyleGAN3).
    """

    STYLE = False
    CAN_TRANSFORM = False
    GROWS = False
    DRAWS_RANDOM = False
    HAS_FAST_PATH = False

    latent_dim: int
    channels: int
    resolution: int

    def arch(self) -> dict:
        """The architecture record an export stores: enough to rebuild this generator."""
        raise NotImplementedError(f"{type(self).__name__} must say how to rebuild it (arch)")


class DiscriminatorBase(nn.Module):
    """Images (N, C, R, R) -> logits (no sigmoid: it lives in the loss, AMP-safe), one or more per image:
    (N, 1), (N, 1, 1, 1), or (N, K) patch logits; the losses average over them. A D needs nothing of the
    generator but its images, so every generator pairs with every D.

    Flags as :class:`GeneratorBase`'s: ``GROWS`` (``set_phase``, ProGAN's D) and ``DRAWS_RANDOM`` (an MLP
    D's dropout masks, from ``rng``).
    """

    GROWS = False
    DRAWS_RANDOM = False


def is_style(generator: GeneratorBase) -> bool:
    """A style generator: mapping z -> ws (N, num_ws, w_dim), synthesis ws -> images (edits in W)."""
    return generator.STYLE


def can_transform(generator: GeneratorBase) -> bool:
    """Its faces can be drawn turned and moved (``generator.transformed(rotate, translate)``)."""
    return generator.CAN_TRANSFORM


def grows(net: GeneratorBase | DiscriminatorBase) -> bool:
    """It follows a progressive-growing schedule (``net.set_phase(resolution, alpha)``)."""
    return net.GROWS


def draws_random(net: GeneratorBase | DiscriminatorBase) -> bool:
    """Its random draws in training mode come from ``net.rng``, which a trainer sets to the run's stream."""
    return net.DRAWS_RANDOM


def has_fast_path(generator: GeneratorBase) -> bool:
    """``generator.exact`` switches between the reference ops (True) and a fast path (False)."""
    return generator.HAS_FAST_PATH


def set_random_stream(net: GeneratorBase | DiscriminatorBase, rng: torch.Generator | None) -> None:
    """Draw ``net``'s random numbers from ``rng`` where it draws any (a no-op for the others)."""
    if draws_random(net):
        net.rng = rng
