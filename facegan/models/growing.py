"""What growing networks and the trainer's growth schedule share: the fade-in blend and the box resampling (``facegan.training.schedule`` fades the real images with
exactly the functions the networks fade their outputs with)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def fade(old: torch.Tensor, new: torch.Tensor, alpha: float) -> torch.Tensor:
    """The fade-in blend: exactly ``old`` at alpha 0 and exactly ``new`` at 1 (torch.lerp is exact at
    both ends, where ``old + alpha * (new - old)`` could round away from ``new``)."""
    if alpha >= 1:
        return new
    return torch.lerp(old, new, alpha)


def downsample(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """(N, C, R, R) -> (N, C, r, r) by box filtering (the mean of each R/r x R/r block); r == R: as is."""
    factor = images.shape[-1] // resolution
    return images if factor == 1 else F.avg_pool2d(images, factor)


def upsample(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """(N, C, r, r) -> (N, C, R, R), nearest neighbour (each pixel an R/r x R/r block)."""
    factor = resolution // images.shape[-1]
    return images if factor == 1 else F.interpolate(images, scale_factor=factor, mode="nearest")
