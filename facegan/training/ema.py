"""An exponential moving average of the generator's weights (Karras et al.; StyleGAN2-ADA's G_ema).

After every optimiser step the EMA copy moves a fraction (1 - beta) towards G. The half-life is
counted in images, not steps, so it does not depend on the batch size:

    beta = 0.5 ** (batch / half_life_images)

and during a ramp-up the half-life is at most ``rampup`` x the images seen so far, so the random
initial weights are forgotten quickly. Buffers (BatchNorm running statistics) are copied, not averaged.
The average smooths the generator's oscillation around the equilibrium: its samples are usually
cleaner than G's at the same step, at no training cost beyond one lerp per parameter.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


def ema_beta(batch: int, images_seen: int, half_life_kimg: float, rampup: float) -> float:
    """The decay for one step of ``batch`` images after ``images_seen`` images.

    >>> ema_beta(64, 10**6, 10, 0) == 0.5 ** (64 / 10_000)
    True
    >>> ema_beta(64, 1000, 10, 0.05)  # early: half-life 0.05 x 1000 = 50 images
    0.41...
    """
    half_life = half_life_kimg * 1000
    if rampup > 0:
        half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (batch / max(half_life, 1e-8))


class EMA:
    """Holds ``average``: a frozen copy of the generator, updated by :meth:`update` after each G step."""

    def __init__(self, generator: nn.Module, half_life_kimg: float, rampup: float):
        self.half_life_kimg, self.rampup = half_life_kimg, rampup
        self.average = copy.deepcopy(generator).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, generator: nn.Module, batch: int, images_seen: int) -> None:
        """average <- beta * average + (1 - beta) * G for parameters; buffers copied from G."""
        beta = ema_beta(batch, images_seen, self.half_life_kimg, self.rampup)
        averaged = list(self.average.parameters())
        torch._foreach_lerp_(averaged, [p.detach() for p in generator.parameters()], 1.0 - beta)
        self.copy_buffers(generator)

    @torch.no_grad()
    def copy_buffers(self, generator: nn.Module) -> None:
        for mine, theirs in zip(self.average.buffers(), generator.buffers()):
            mine.copy_(theirs)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.average.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.average.load_state_dict(state)
