"""DiffAugment (Zhao et al., 2020): differentiable augmentations of every image the discriminator
sees, real and fake alike, so D cannot memorise the training set and G still gets gradients through
the augmentation.

The policy is an ordered list of operations (TrainConfig.augment, e.g. "color,translation,cutout").
Each call draws fresh parameters per image from the run's own torch.Generator, so a resumed run draws
the same ones. Written here rather than taken from a library: the reference code draws from the
global RNG (which would break bitwise resume), and each operation is a few lines.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

Augment = Callable[[torch.Tensor], torch.Tensor]


def _uniform(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """(B, 1, 1, 1) uniform [0, 1) draws, one per image."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, generator=rng, dtype=x.dtype)


def color(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Brightness +[-0.5, 0.5), saturation x[0, 2), contrast x[0.5, 1.5) (DiffAugment's ranges)."""
    x = x + (_uniform(x, rng) - 0.5)
    mean = x.mean(dim=1, keepdim=True)  # (B, 1, H, W): per-pixel grey level
    x = (x - mean) * (_uniform(x, rng) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - mean) * (_uniform(x, rng) + 0.5) + mean


def translation(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in x and y, filling with zeros."""
    b, _, h, w = x.shape
    dy = torch.randint(-int(h * ratio + 0.5), int(h * ratio + 0.5) + 1, (b, 1), device=x.device, generator=rng)
    dx = torch.randint(-int(w * ratio + 0.5), int(w * ratio + 0.5) + 1, (b, 1), device=x.device, generator=rng)
    padded = F.pad(x, (1, 1, 1, 1))  # a ring of zeros: out-of-range rows/columns read from it
    rows = (torch.arange(h, device=x.device) + dy + 1).clamp(0, h + 1)  # (B, H) source rows in padded
    cols = (torch.arange(w, device=x.device) + dx + 1).clamp(0, w + 1)  # (B, W)
    padded = padded.gather(2, rows[:, None, :, None].expand(-1, x.shape[1], -1, w + 2))  # (B, C, H, W+2)
    return padded.gather(3, cols[:, None, None, :].expand(-1, x.shape[1], h, -1))  # (B, C, H, W)


def cutout(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` x the image side per image, centred anywhere (clipped at edges)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1), device=x.device, generator=rng)  # centres, as the reference
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1), device=x.device, generator=rng)
    ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    in_rows = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch)  # (B, H)
    in_cols = (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)  # (B, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (B, H, W)
    return x * keep[:, None].to(x.dtype)


OPERATIONS = {"color": color, "translation": translation, "cutout": cutout}


def make_augment(policy: tuple[str, ...], rng: torch.Generator,
                 memory_format: torch.memory_format = torch.contiguous_format) -> Augment:
    """The hook every D input passes through: the policy's operations in order (identity if empty).
    The result is laid out in ``memory_format`` (the gathers return NCHW; D may run channels_last)."""
    if not policy:
        return lambda x: x
    ops = [OPERATIONS[name] for name in policy]

    def augment(x: torch.Tensor) -> torch.Tensor:
        for op in ops:
            x = op(x, rng)
        return x.contiguous(memory_format=memory_format)

    return augment
