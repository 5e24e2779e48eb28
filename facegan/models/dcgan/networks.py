"""DCGAN generator and discriminator (Radford et al., 2015), for square images of any power-of-two
size from 8 px (the course project: 64x64 RGB faces). No I/O here.

- Generator: z of shape (N, latent_dim) or (N, latent_dim, 1, 1) -> (N, C, R, R) in [-1, 1].
- Discriminator: (N, C, R, R) -> logits (N, 1, 1, 1); the sigmoid lives in the loss.

Feature maps double in size from 4x4 to R/2 in G (and halve back in D); a map of side s has
min(512, 32 R / s) channels at width 1.0, which at R = 64 is the paper's 512, 256, 128, 64.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from facegan.errors import FaceganError
from facegan.models.contract import DiscriminatorBase, GeneratorBase
from facegan.models.dcgan.config import UPSAMPLES, DCGANConfig

MAX_CHANNELS = 512


def scaled_channels(width: float, resolution: int = 64) -> list[int]:
    """Channels of the feature maps from R/2 down to 4x4 at a width multiplier (at least 1 each).

    >>> scaled_channels(1.0), scaled_channels(0.25, 32)
    ([64, 128, 256, 512], [16, 32, 64])
    """
    check_resolution(resolution)
    sides = [resolution // 2 >> k for k in range(int(math.log2(resolution)) - 2)]  # R/2, R/4, ..., 4
    return [max(1, round(min(MAX_CHANNELS, 32 * resolution // s) * width)) for s in sides]


def check_resolution(resolution: int) -> None:
    if resolution < 8 or resolution & (resolution - 1):
        raise FaceganError(f"the dcgan architecture needs a square power-of-two image size of at least 8 "
                           f"(got {resolution}); resize the data (--resolution) or pick another --arch")


def dcgan_init(module: nn.Module) -> None:
    """DCGAN init: conv weights ~ N(0, 0.02); BatchNorm gamma ~ N(1, 0.02), beta = 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _double(c_in: int, c_out: int, upsample: str) -> list[nn.Module]:
    """Layers that double H and W. "transpose": the paper's ConvTranspose2d(k4, s2, p1). "resize":
    nearest-neighbour upsampling then a 3x3 convolution, which cannot make the checkerboard pattern
    of overlapping transposed-conv kernels (Odena et al., 2016)."""
    if upsample == "transpose":
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]


class Generator(GeneratorBase):
    def __init__(self, latent_dim: int = 256, width: float = 1.0, resolution: int = 64, channels: int = 3,
                 upsample: str = "transpose"):
        super().__init__()
        if upsample not in UPSAMPLES:
            raise FaceganError(f"upsample must be one of {', '.join(UPSAMPLES)} (got {upsample!r})")
        self.latent_dim, self.width, self.resolution, self.channels = latent_dim, width, resolution, channels
        self.upsample = upsample
        widths = scaled_channels(width, resolution)[::-1]  # 4x4 first: at R=64, 512, 256, 128, 64
        layers: list[nn.Module] = [
            # (N, latent_dim, 1, 1) -> (N, widths[0], 4, 4)
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for c_in, c_out in zip(widths, widths[1:]):  # each doubles the side: 8, 16, ..., R/2
            layers += [*_double(c_in, c_out, upsample), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [*_double(widths[-1], channels, upsample), nn.Tanh()]  # (N, C, R, R)
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]  # (N, latent_dim) -> (N, latent_dim, 1, 1)
        if z.dim() != 4 or z.shape[1] != self.latent_dim or z.shape[2:] != (1, 1):
            raise ValueError(f"Generator expects z of shape (N, {self.latent_dim}) or "
                             f"(N, {self.latent_dim}, 1, 1), got {tuple(z.shape)}")
        return self.net(z)

    def arch(self) -> dict:
        """What is needed to rebuild this module (stored in exports)."""
        return {"arch": "dcgan", "latent_dim": self.latent_dim, "width": self.width,
                "resolution": self.resolution, "channels": self.channels, "upsample": self.upsample}


class Discriminator(DiscriminatorBase):
    def __init__(self, width: float = 1.0, resolution: int = 64, channels: int = 3):
        super().__init__()
        self.width, self.resolution, self.channels = width, resolution, channels
        widths = scaled_channels(width, resolution)  # R/2 first: at R=64, 64, 128, 256, 512

        def down(c_in: int, c_out: int, bn: bool = True) -> list[nn.Module]:
            # halves H and W: kernel 4, stride 2, padding 1
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not bn)]
            if bn:
                layers.append(nn.BatchNorm2d(c_out))
            return layers + [nn.LeakyReLU(0.2, inplace=True)]

        layers = down(channels, widths[0], bn=False)  # (N, widths[0], R/2, R/2); no BN first (DCGAN)
        for c_in, c_out in zip(widths, widths[1:]):  # ... down to (N, widths[-1], 4, 4)
            layers += down(c_in, c_out)
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False))  # (N, 1, 1, 1) logits
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


# ----------------------------------------------------------------------------- registry entry points
def build_models(cfg: DCGANConfig, latent_dim: int, channels: int, resolution: int) -> tuple[Generator, Discriminator]:
    check_resolution(resolution)
    return (Generator(latent_dim, cfg.width, resolution, channels, cfg.upsample),
            Discriminator(cfg.width, resolution, channels))


def generator_from_meta(meta: dict) -> Generator:
    # Exports written before resolution/channels/upsample were recorded are 64x64 RGB transposed-conv.
    return Generator(int(meta["latent_dim"]), float(meta["width"]), int(meta.get("resolution", 64)),
                     int(meta.get("channels", 3)), meta.get("upsample", "transpose"))
