"""ProGAN's generator and discriminator (Karras et al., 2018; tkarras/progressive_growing_of_gans
``networks.py``), for square images from 4 px up to any power of two. No I/O here.

- Pixel norm ``x * rsqrt(mean_C(x^2) + 1e-8)`` on z and after every conv of G: no BatchNorm.
- Equalised learning rate: weights drawn N(0, 1) and scaled by gain / sqrt(fan_in) at run time, so Adam
  moves every layer at the same pace (gain sqrt 2; G's first dense layer sqrt 2 / 4; toRGB 1).
- Leaky ReLU 0.2; minibatch standard deviation (groups of 4) before D's last block; a toRGB / fromRGB
  (1x1 conv) per resolution.

Growing: :meth:`Generator.set_phase` / :meth:`Discriminator.set_phase` say at which side the networks run
and how far its layers have faded in (``facegan.training.schedule``). During a fade at side r, G's output
is ``fade(upsample(toRGB_{r/2}(x)), toRGB_r(block_r(x)), alpha)`` and D mirrors it with
``fromRGB_{r/2}(avgpool(img))``. In training mode G returns (N, C, r, r), linear as in the paper; in
eval mode (sampling, grids, exports) it returns the full side (nearest-upsampled from r), clamped to
[-1, 1], so an export samples, edits and shows like any other generator. D returns logits (N, 1).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from facegan.errors import FaceganError
from facegan.models.contract import DiscriminatorBase, GeneratorBase
from facegan.models.growing import downsample, fade, upsample
from facegan.models.progan.config import ProGANConfig

MBSTD_GROUP = 4


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit mean square over the channels (dim 1)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group: int = MBSTD_GROUP) -> torch.Tensor:
    """(N, C, H, W) -> (N, C + 1, H, W): one more feature map holding, for each group of images, the mean
    over features and pixels of their standard deviation across the group (a signal of variety D can use).
    Image i shares a group with i + N/G, i + 2N/G, ... as in NVIDIA's reshape."""
    n, c, h, w = x.shape
    g = min(group, n)
    if n % g:
        raise FaceganError(f"progan's discriminator compares images in groups of {g}: batch {n} is not a multiple")
    y = x.reshape(g, -1, c, h, w).float()  # (G, M, C, H, W)
    y = (y - y.mean(dim=0)).square().mean(dim=0)  # (M, C, H, W): variance over the group
    y = torch.sqrt(y + 1e-8).mean(dim=(1, 2, 3))  # (M,)
    y = y.to(x.dtype).reshape(1, -1, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)  # back to (N, 1, H, W)
    return torch.cat([x, y], dim=1)


class EqualizedConv2d(nn.Module):
    """Conv2d whose N(0, 1) weight is scaled by gain / sqrt(fan_in) in every forward pass."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """Linear layer whose N(0, 1) weight is scaled by gain / sqrt(fan_in) in every forward pass."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def channels_at(side: int, cfg: ProGANConfig) -> int:
    """Feature maps at side ``side``: the paper's nf(stage) = fmap_base / 2^stage, stage = log2(side) - 1."""
    return max(1, min(cfg.fmap_base // 2 ** (int(math.log2(side)) - 1), cfg.fmap_max))


def sides(resolution: int) -> list[int]:
    check_resolution(resolution)
    return [2 ** k for k in range(2, int(math.log2(resolution)) + 1)]


def check_resolution(resolution: int) -> None:
    if resolution < 4 or resolution & (resolution - 1):
        raise FaceganError(f"progan needs square images whose side is a power of two of at least 4 (got {resolution})")


class Growing(nn.Module):
    """The phase both networks share: the side they run at and how far its layers have faded in."""

    GROWS = True  # the contract's flag (facegan.models.contract.grows), for G and D alike

    def __init__(self, resolution: int):
        super().__init__()
        self.resolution = resolution
        self.phase_resolution, self.alpha = resolution, 1.0  # a fresh network runs at full size

    def set_phase(self, resolution: int, alpha: float) -> None:
        if resolution not in sides(self.resolution):
            raise FaceganError(f"this {self.resolution} px progan has no {resolution} px stage")
        self.phase_resolution, self.alpha = resolution, float(alpha)

    def fading(self) -> bool:
        return self.alpha < 1 and self.phase_resolution > 4


class Generator(Growing, GeneratorBase):
    def __init__(self, latent_dim: int = 256, resolution: int = 64, channels: int = 3,
                 cfg: ProGANConfig | None = None):
        super().__init__(resolution)
        cfg = cfg or ProGANConfig()
        self.latent_dim, self.channels, self.cfg = latent_dim, channels, cfg
        c4 = channels_at(4, cfg)
        self.dense = EqualizedLinear(latent_dim, c4 * 16, gain=math.sqrt(2) / 4)  # z -> (N, C4, 4, 4)
        self.blocks = nn.ModuleDict({"4": EqualizedConv2d(c4, c4, 3)})
        self.to_rgb = nn.ModuleDict({"4": EqualizedConv2d(c4, channels, 1, gain=1)})
        for side in sides(resolution)[1:]:
            c_in, c_out = channels_at(side // 2, cfg), channels_at(side, cfg)
            self.blocks[str(side)] = nn.Sequential(EqualizedConv2d(c_in, c_out, 3), LReLUNorm(),
                                                   EqualizedConv2d(c_out, c_out, 3))
            self.to_rgb[str(side)] = EqualizedConv2d(c_out, channels, 1, gain=1)

    def block(self, side: int, x: torch.Tensor) -> torch.Tensor:
        """The features at ``side`` from those at side / 2 (or, at 4, from the dense layer's)."""
        if side > 4:
            x = upsample(x, side)
        return pixel_norm(F.leaky_relu(self.blocks[str(side)](x), 0.2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)  # (N, latent_dim, 1, 1) -> (N, latent_dim), as dcgan accepts
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Generator expects z of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        x = pixel_norm(F.leaky_relu(self.dense(pixel_norm(z)).view(z.shape[0], -1, 4, 4), 0.2))  # (N, C4, 4, 4)
        x = self.block(4, x)
        stages = [s for s in sides(self.resolution) if s <= self.phase_resolution]
        for side in stages[1:-1]:
            x = self.block(side, x)
        side = stages[-1]
        if side == 4:
            image = self.to_rgb["4"](x)
        else:
            new = self.to_rgb[str(side)](self.block(side, x))  # (N, C, r, r)
            image = fade(upsample(self.to_rgb[str(side // 2)](x), side), new, self.alpha) if self.fading() else new
        if self.training:
            return image  # (N, C, r, r), linear: what D is trained against
        return upsample(image, self.resolution).clamp(-1, 1)  # (N, C, R, R) for samples, grids and exports

    def arch(self) -> dict:
        return {"arch": "progan", "latent_dim": self.latent_dim, "resolution": self.resolution,
                "channels": self.channels, "fmap_base": self.cfg.fmap_base, "fmap_max": self.cfg.fmap_max,
                "phase_resolution": self.phase_resolution, "alpha": self.alpha}


class LReLUNorm(nn.Module):
    """Leaky ReLU 0.2 then pixel norm: what follows every conv of G."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(F.leaky_relu(x, 0.2))


class Discriminator(Growing, DiscriminatorBase):
    def __init__(self, resolution: int = 64, channels: int = 3, cfg: ProGANConfig | None = None):
        super().__init__(resolution)
        cfg = cfg or ProGANConfig()
        self.from_rgb = nn.ModuleDict({str(s): EqualizedConv2d(channels, channels_at(s, cfg), 1)
                                       for s in sides(resolution)})
        self.blocks = nn.ModuleDict()
        for side in sides(resolution)[1:]:
            c_in, c_out = channels_at(side, cfg), channels_at(side // 2, cfg)
            self.blocks[str(side)] = nn.ModuleList([EqualizedConv2d(c_in, c_in, 3), EqualizedConv2d(c_in, c_out, 3)])
        c4 = channels_at(4, cfg)
        self.conv4 = EqualizedConv2d(c4 + 1, c4, 3)
        self.dense4 = EqualizedLinear(c4 * 16, c4)
        self.out = EqualizedLinear(c4, 1, gain=1)

    def block(self, side: int, x: torch.Tensor) -> torch.Tensor:
        """Features at side / 2 from those at ``side``: two 3x3 convs, then 2x2 average pooling."""
        first, second = self.blocks[str(side)]
        x = F.leaky_relu(second(F.leaky_relu(first(x), 0.2)), 0.2)
        return F.avg_pool2d(x, 2)

    def from_image(self, side: int, images: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.from_rgb[str(side)](images), 0.2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        side = images.shape[-1]
        if side != self.phase_resolution:  # a full-size image given outside training: judged at the phase's side
            images, side = downsample(images, self.phase_resolution), self.phase_resolution
        x = self.from_image(side, images)
        if side > 4:
            x = self.block(side, x)
            if self.fading():
                x = fade(self.from_image(side // 2, F.avg_pool2d(images, 2)), x, self.alpha)
        for s in reversed([s for s in sides(self.resolution) if 4 < s < side]):
            x = self.block(s, x)
        x = F.leaky_relu(self.conv4(minibatch_stddev(x)), 0.2)  # (N, C4, 4, 4)
        return self.out(F.leaky_relu(self.dense4(x.flatten(1)), 0.2))  # (N, 1) logits


# ----------------------------------------------------------------------------- registry entry points
def build_models(cfg: ProGANConfig, latent_dim: int, channels: int, resolution: int) -> tuple[Generator, Discriminator]:
    check_resolution(resolution)
    return Generator(latent_dim, resolution, channels, cfg), Discriminator(resolution, channels, cfg)


def generator_from_meta(meta: dict) -> Generator:
    cfg = ProGANConfig(int(meta["fmap_base"]), int(meta["fmap_max"]))
    G = Generator(int(meta["latent_dim"]), int(meta["resolution"]), int(meta["channels"]), cfg)
    G.set_phase(int(meta.get("phase_resolution", meta["resolution"])), float(meta.get("alpha", 1.0)))
    return G
