"""FastGAN's generator (Liu et al., ICLR 2021) for square images of 16 to 1024 px, in plain PyTorch. No I/O.

- Generator: z (N, latent_dim) -> (N, C, R, R) in [-1, 1] (tanh). A transposed conv makes a 4x4 map; each
  up block doubles the side (nearest upsampling, 3x3 conv, BatchNorm, GLU: the conv makes twice the channels
  and the gated linear unit keeps half, gated by the other half); skip-layer excitation (SLE) lets the map
  at side s gate the map at side 8s channel by channel (pooled to 4x4, a 4x4 conv, a 1x1 conv, a sigmoid),
  which carries the coarse layout to the fine layers without a long gradient path.
- Its native discriminator is the DCGAN discriminator (``fastgan_d_width``); FastGAN's own D adds
  self-supervised reconstruction decoders, which this project does not need beside the projected D.

Left out from the paper's G: the per-pixel noise injection (a second random stream to checkpoint for a
small effect at 64 px) and the paper's output layers above 256 px.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from facegan.errors import FaceganError
from facegan.models.contract import GeneratorBase
from facegan.models.dcgan.networks import Discriminator
from facegan.models.fastgan.config import FastGANConfig

CHANNEL_MULTIPLIERS = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}  # FastGAN's nfc


def channels_at(width: int, side: int) -> int:
    return max(1, int(CHANNEL_MULTIPLIERS[side] * width))


def _up_block(c_in: int, c_out: int) -> nn.Sequential:
    """(N, c_in, s, s) -> (N, c_out, 2s, 2s)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(2 * c_out), nn.GLU(dim=1))


class SkipLayerExcitation(nn.Module):
    """Channel gates for a fine map from a coarse one: (N, c_small, s, s) -> (N, c_big, 1, 1) in (0, 1)."""

    def __init__(self, c_small: int, c_big: int):
        super().__init__()
        self.net = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_small, c_big, 4, 1, 0, bias=False),
                                 nn.LeakyReLU(0.1), nn.Conv2d(c_big, c_big, 1, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        return big * self.net(small)


class Generator(GeneratorBase):
    def __init__(self, latent_dim: int = 256, width: int = 16, resolution: int = 64, channels: int = 3):
        super().__init__()
        check_resolution(resolution)
        self.latent_dim, self.width, self.resolution, self.channels = latent_dim, width, resolution, channels
        self.sides = [4 << k for k in range(int(math.log2(resolution)) - 1)]  # 4, 8, ..., R
        c = {s: channels_at(width, s) for s in self.sides}
        self.init = nn.Sequential(nn.ConvTranspose2d(latent_dim, 2 * c[4], 4, 1, 0, bias=False),  # (N, 2c, 4, 4)
                                  nn.BatchNorm2d(2 * c[4]), nn.GLU(dim=1))
        self.ups = nn.ModuleList(_up_block(c[s], c[2 * s]) for s in self.sides[:-1])
        # the map at side s gates the one at 8s (FastGAN: 4 -> 32 ... at 64 px, 4 -> 32 and 8 -> 64)
        self.sle = nn.ModuleDict({str(s): SkipLayerExcitation(c[s], c[8 * s]) for s in self.sides if 8 * s in c})
        self.to_rgb = nn.Conv2d(c[resolution], channels, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Generator expects z of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        x = self.init(z[:, :, None, None])  # (N, c4, 4, 4)
        maps = {4: x}
        for side, up in zip(self.sides[1:], self.ups):
            x = up(x)  # (N, c_side, side, side)
            if str(side // 8) in self.sle:
                x = self.sle[str(side // 8)](maps[side // 8], x)
            maps[side] = x
        return torch.tanh(self.to_rgb(x))  # (N, C, R, R)

    def arch(self) -> dict:
        """What is needed to rebuild this module (stored in exports)."""
        return {"arch": "fastgan", "latent_dim": self.latent_dim, "width": self.width,
                "resolution": self.resolution, "channels": self.channels}


def check_resolution(resolution: int) -> None:
    if resolution not in CHANNEL_MULTIPLIERS or resolution < 16:
        raise FaceganError(f"the fastgan architecture needs a square power-of-two image size from 16 to 1024 "
                           f"(got {resolution}); resize the data (--resolution) or pick another --arch")


# ----------------------------------------------------------------------------- registry entry points
def build_models(cfg: FastGANConfig, latent_dim: int, channels: int, resolution: int) -> tuple[Generator, Discriminator]:
    return (Generator(latent_dim, cfg.fastgan_width, resolution, channels),
            Discriminator(cfg.fastgan_d_width, resolution, channels))


def generator_from_meta(meta: dict) -> Generator:
    return Generator(int(meta["latent_dim"]), int(meta["width"]), int(meta["resolution"]), int(meta["channels"]))
