"""The vanilla GAN (Goodfellow et al., 2014) with fully connected networks, as the roadmap's first GAN
trains it on 28x28 digits. No I/O here.

- Generator: z (N, latent_dim) -> Linear + LeakyReLU(0.2) blocks (256 -> 512 -> 1024 by default;
  optionally BatchNorm after each but the first) -> Linear to C*R*R -> Tanh, reshaped to (N, C, R, R)
  in [-1, 1].
- Discriminator: (N, C, R, R) flattened to C*R*R -> Linear + LeakyReLU(0.2) + Dropout blocks, the
  generator's widths in reverse (1024 -> 512 -> 256) -> Linear -> one logit (N, 1); the sigmoid lives
  in the loss.

No convolutions: every pixel is its own input, so the networks work at any channel count and
resolution (the data decides), at the cost of knowing nothing about neighbouring pixels. BatchNorm in
G (off by default, on in the digits preset) keeps each layer's activations at a steady scale while D
keeps moving the target, which makes the generator converge in fewer steps.
LeakyReLU keeps gradients flowing for negative pre-activations (a plain ReLU G often dies early), and
dropout in D keeps it from memorising the training set and overpowering G. D's dropout masks come
from ``D.rng`` when the trainer sets it (the run's own random stream, which checkpoints
save), not torch's global RNG, so a resumed run draws the same masks and resumes bit for bit.
"""
from __future__ import annotations

import torch
from torch import nn

from facegan.models.contract import DiscriminatorBase, GeneratorBase
from facegan.models.mlp.config import MLPConfig


class Dropout(nn.Module):
    """nn.Dropout (inverted: kept units are scaled by 1 / (1 - p)) with masks from ``self.rng``."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.rng: torch.Generator | None = None  # None: torch's global RNG

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, device=x.device, generator=self.rng) >= self.p  # (N, features)
        return x * keep.to(x.dtype) / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Generator(GeneratorBase):
    def __init__(self, latent_dim: int = 64, hidden: tuple[int, ...] = (256, 512, 1024), channels: int = 1,
                 resolution: int = 28, batchnorm: bool = False):
        super().__init__()
        self.latent_dim, self.hidden, self.batchnorm = latent_dim, tuple(hidden), batchnorm
        self.channels, self.resolution = channels, resolution
        layers: list[nn.Module] = []
        for k, (n_in, n_out) in enumerate(zip((latent_dim, *hidden), hidden)):  # (N, latent_dim) -> (N, hidden[-1])
            layers.append(nn.Linear(n_in, n_out))
            if batchnorm and k > 0:  # not on the first layer, whose input is z itself
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers += [nn.Linear(hidden[-1], channels * resolution * resolution), nn.Tanh()]  # (N, C*R*R)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)  # (N, latent_dim, 1, 1) -> (N, latent_dim), as the DCGAN accepts it
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Generator expects z of shape (N, {self.latent_dim}) or "
                             f"(N, {self.latent_dim}, 1, 1), got {tuple(z.shape)}")
        return self.net(z).view(-1, self.channels, self.resolution, self.resolution)  # (N, C, R, R)

    def arch(self) -> dict:
        """What is needed to rebuild this module (stored in exports)."""
        return {"arch": "mlp", "latent_dim": self.latent_dim, "hidden": list(self.hidden),
                "channels": self.channels, "resolution": self.resolution, "batchnorm": self.batchnorm}


class Discriminator(DiscriminatorBase):
    DRAWS_RANDOM = True  # dropout masks, from self.rng

    def __init__(self, hidden: tuple[int, ...] = (1024, 512, 256), channels: int = 1, resolution: int = 28,
                 dropout: float = 0.3):
        super().__init__()
        self.channels, self.resolution = channels, resolution
        layers: list[nn.Module] = [nn.Flatten()]  # (N, C, R, R) -> (N, C*R*R)
        for n_in, n_out in zip((channels * resolution * resolution, *hidden), hidden):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(0.2, inplace=True), Dropout(dropout)]
        layers.append(nn.Linear(hidden[-1], 1))  # (N, 1) logits
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    @property
    def rng(self) -> torch.Generator | None:
        return next(m.rng for m in self.net if isinstance(m, Dropout))

    @rng.setter
    def rng(self, rng: torch.Generator | None) -> None:
        """Draw every dropout mask from ``rng`` (the trainer passes the run's random stream)."""
        for m in self.net:
            if isinstance(m, Dropout):
                m.rng = rng


# ----------------------------------------------------------------------------- registry entry points
def build_models(cfg: MLPConfig, latent_dim: int, channels: int, resolution: int) -> tuple[Generator, Discriminator]:
    hidden = cfg.widths()  # G from z upwards; D mirrors it
    return (Generator(latent_dim, hidden, channels, resolution, cfg.mlp_batchnorm),
            Discriminator(hidden[::-1], channels, resolution, cfg.mlp_dropout))


def generator_from_meta(meta: dict) -> Generator:
    return Generator(int(meta["latent_dim"]), tuple(int(w) for w in meta["hidden"]), int(meta["channels"]),
                     int(meta["resolution"]), bool(meta.get("batchnorm", False)))
