"""Progressive growing's resolution schedule (Karras et al. 2018), for any architecture that grows.

The run starts at ``start`` px and doubles up to the data's resolution. Each resolution after the first
begins with a fade-in phase of ``fade_kimg`` thousand images, during which its new layers blend in
(alpha 0 -> 1), then a stabilise phase of ``stable_kimg``; the first resolution only stabilises, the last
stays stable to the end. Lengths are in images, not steps, so the schedule does not depend on the batch
size, which may itself change with the side (``batch_by_side``: the paper trains 4-16 px at 128 images
per step, 32 px at 64, 64 px at 32, as its 1-GPU config.py sets); the phase is a pure function of the
images trained on so far, so a resumed run (which restores ``images_seen``) is in the same phase at the
same image, mid-fade included.

The data stay one uint8 cache at full resolution: each batch is box-downsampled to the phase's side,
and during a fade the real images are faded the same way as G's output: blended with their own
2x2-averaged, nearest-upsampled copy (:func:`real_at_phase`).

    >>> s = GrowthSchedule(start=4, final=16, fade_kimg=1, stable_kimg=1)
    >>> [(p.resolution, p.alpha) for p in map(s.phase_at, (0, 1000, 1500, 2000, 3000, 10_000))]
    [(4, 1.0), (8, 0.0), (8, 0.5), (8, 1.0), (16, 0.0), (16, 1.0)]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from facegan.config import check_schedule
from facegan.models.growing import downsample, fade, upsample


@dataclass(frozen=True)
class Phase:
    resolution: int  # the side G draws and D judges at
    alpha: float  # how far this resolution's new layers have faded in: 0 = the previous one's path, 1 = its own


@dataclass(frozen=True)
class GrowthSchedule:
    start: int  # first resolution (4 in the paper)
    final: int  # the data's resolution
    fade_kimg: float  # thousands of images per fade-in
    stable_kimg: float  # thousands of images per stabilise phase
    batch_by_side: dict[int, int] = field(default_factory=dict)  # images per step at a side; others: the run's batch

    def __post_init__(self) -> None:
        check_schedule(self.start, self.final, self.fade_kimg, self.stable_kimg)

    @property
    def resolutions(self) -> list[int]:
        return [self.start * 2 ** k for k in range(int(math.log2(self.final // self.start)) + 1)]

    def phase_at(self, images: int) -> Phase:
        """The phase after ``images`` training images (the next step trains in it)."""
        kimg = images / 1000
        if kimg < self.stable_kimg or len(self.resolutions) == 1:
            return Phase(self.start, 1.0)
        kimg -= self.stable_kimg
        for resolution in self.resolutions[1:]:
            if kimg < self.fade_kimg:
                return Phase(resolution, kimg / self.fade_kimg if self.fade_kimg else 1.0)
            kimg -= self.fade_kimg
            if kimg < self.stable_kimg or resolution == self.final:
                return Phase(resolution, 1.0)
            kimg -= self.stable_kimg
        return Phase(self.final, 1.0)

    def batch_at(self, images: int, default: int) -> int:
        """Images per step (per process) for the step after ``images`` training images: the table's entry
        for that phase's side, else ``default``."""
        return self.batch_by_side.get(self.phase_at(images).resolution, default)

    def total_kimg(self) -> float:
        """Images until the final resolution is fully faded in and stabilised once."""
        return self.stable_kimg * len(self.resolutions) + self.fade_kimg * (len(self.resolutions) - 1)


def real_at_phase(images: torch.Tensor, phase: Phase) -> torch.Tensor:
    """Real images (N, C, R, R) in [-1, 1] as D sees them in ``phase``: at its side, and during a fade
    blended with their 2x2-averaged, nearest-upsampled copy, as G's output is."""
    x = downsample(images, phase.resolution)
    if phase.alpha >= 1:
        return x
    coarse = upsample(F.avg_pool2d(x, 2), phase.resolution)  # (N, C, r, r): the previous side's detail only
    return fade(coarse, x, phase.alpha)
