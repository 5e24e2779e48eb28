"""DiffAugment (Zhao et al., 2020): differentiable augmentations of every image the discriminator
sees, real and fake alike, so D cannot memorise the training set and G still gets gradients through
the augmentation.

The policy is an ordered list of operations (TrainConfig.augment, e.g. "color,translation,cutout").
Each call draws fresh parameters per image from the run's own torch.Generator, so a resumed run draws
the same ones. Written here rather than taken from a library: the reference code draws from the
global RNG (which would break bitwise resume), and each operation is a few lines.

:class:`AdaptiveAugment` adds StyleGAN2-ADA's controller (Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data", section 3): each operation is applied to each image with a
probability p that the run adjusts from how sure D is about the real images.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from facegan.training import distributed

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


class AdaptiveAugment:
    """The policy's operations, each applied to each image with probability ``p`` (ADA's heuristic).

    The overfitting signal is r_t = E[sign(D(x))] over the augmented real images D saw: near 0 while D
    cannot tell real from fake, near 1 once it has memorised the training set. Every ``INTERVAL`` steps
    p moves by sign(r_t - target) * images / (speed_kimg * 1000), so it can cross 0 -> 1 in speed_kimg
    thousand images at the fastest. p and the sums behind r_t stay on the device (no host sync per
    step) and are saved in checkpoints, so a resumed run continues with the same p; NVIDIA's resume
    starts again from p = 0 (stylegan2-ada-pytorch copies G, D and G_ema, not the augment pipe).
    With p = 1 this is DiffAugment with every operation always on."""

    INTERVAL = 4  # steps between adjustments (the official ada_interval)

    def __init__(self, policy: tuple[str, ...], rng: torch.Generator, memory_format: torch.memory_format,
                 target: float, speed_kimg: float):
        self.ops = [OPERATIONS[name] for name in policy]
        self.rng, self.memory_format, self.target, self.speed_kimg = rng, memory_format, target, speed_kimg
        self.p = torch.zeros((), device=rng.device)  # the probability of each operation, per image
        self.signs = torch.zeros(2, device=rng.device)  # since the last adjustment: sum of sign(D(real)), count
        self.steps = 0  # D steps observed

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the same, each operation applied to the images whose draw falls under p."""
        for op in self.ops:
            chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device, generator=self.rng) < self.p  # (B, 1, 1, 1)
            x = torch.where(chosen, op(x, self.rng), x)
        return x.contiguous(memory_format=self.memory_format)

    def observe(self, real_logits: torch.Tensor) -> None:
        """Add one D step's logits on the (augmented) reals; after every INTERVAL-th one, move p."""
        logits = real_logits.detach().float().flatten()
        self.signs += torch.stack([logits.sign().sum(), torch.tensor(float(logits.numel()), device=logits.device)])
        self.steps += 1
        if self.steps % self.INTERVAL == 0:
            total = distributed.reduce_(self.signs.clone(), "sum")  # (2,): every rank's signs, so all move p alike
            r_t = total[0] / total[1]
            self.p = (self.p + torch.sign(r_t - self.target) * total[1] / (self.speed_kimg * 1000)).clamp(0, 1)
            self.signs.zero_()

    def state_dict(self) -> dict[str, torch.Tensor | int]:
        return {"p": self.p.clone(), "signs": self.signs.clone(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, torch.Tensor | int]) -> None:
        self.p, self.signs = state["p"].to(self.p.device).clone(), state["signs"].to(self.p.device).clone()
        self.steps = int(state["steps"])


def make_augment(policy: tuple[str, ...], rng: torch.Generator,
                 memory_format: torch.memory_format = torch.contiguous_format,
                 ada_target: float = 0.0, ada_kimg: float = 100.0) -> Augment:
    """The hook every D input passes through: the policy's operations in order (identity if empty), each
    always applied, or with ``ada_target`` > 0 each with the adaptive probability of :class:`AdaptiveAugment`.
    The result is laid out in ``memory_format`` (the gathers return NCHW; D may run channels_last)."""
    if not policy:
        return lambda x: x
    if ada_target > 0:
        return AdaptiveAugment(policy, rng, memory_format, ada_target, ada_kimg)
    ops = [OPERATIONS[name] for name in policy]

    def augment(x: torch.Tensor) -> torch.Tensor:
        for op in ops:
            x = op(x, rng)
        return x.contiguous(memory_format=memory_format)

    return augment
