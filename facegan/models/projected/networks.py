"""The projected discriminator (Sauer et al., "Projected GANs Converge Faster", NeurIPS 2021): real and
generated images go through a frozen ImageNet network (EfficientNet-Lite0), whose feature maps are mixed by
fixed random 1x1 convolutions across channels (CCM) and across scales (CSM: the coarser mixed map is
upsampled, projected and added to the next finer one), and a small trainable head per scale scores each
mixed map patch by patch. Only the heads learn; the mixing is random but fixed (buffers, so a checkpoint
holds it and a resumed run mixes exactly as before), and the feature network is not part of the module's
state at all (its weights come from the installed package, 18.8 MB that no checkpoint needs to repeat).

With ``native+projected`` (Kumari et al., "Ensembling Off-the-shelf Models for GAN Training", CVPR 2022)
the architecture's own D sees the pixels beside the projected heads.

Every discriminator returns logits of shape (B, K): one per image for the native Ds, one per head patch
here. The losses average over all of them, so :class:`NativeAndProjected` repeats the native logit once per
projected patch: the native D and the projected heads then weigh the same in the loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from facegan.errors import FaceganError
from facegan.models.contract import DiscriminatorBase, draws_random, set_random_stream
from facegan.models.projected.config import ProjectedConfig
from facegan.models.projected.efficientnet_lite import TAP_CHANNELS, EfficientNetLite0, pretrained_lite0

HEAD_SIDE = 4  # each head downsamples its map to 4x4 patches (Projected GAN's heads end at 4x4 too)


def _fixed_conv(c_in: int, c_out: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A 1x1 convolution's weight (c_out, c_in, 1, 1) and bias (c_out,), drawn as nn.Conv2d draws them."""
    conv = nn.Conv2d(c_in, c_out, 1)
    return conv.weight.detach().clone(), conv.bias.detach().clone()


class FeatureMixing(nn.Module):
    """CCM and CSM: fixed random 1x1 convolutions. Tap k (C_k channels, side s_k) -> mixed map k with
    ``channels * 2**k`` channels; from the coarsest scale down, mixed k = CCM_k(tap k) + CSM_k(upsample2(mixed
    k+1))."""

    def __init__(self, tap_channels: tuple[int, ...], channels: int):
        super().__init__()
        self.out_channels = tuple(channels * 2 ** k for k in range(len(tap_channels)))
        for k, (c_in, c_out) in enumerate(zip(tap_channels, self.out_channels)):
            weight, bias = _fixed_conv(c_in, c_out)
            self.register_buffer(f"ccm{k}_weight", weight)
            self.register_buffer(f"ccm{k}_bias", bias)
            if k + 1 < len(tap_channels):
                weight, bias = _fixed_conv(self.out_channels[k + 1], c_out)
                self.register_buffer(f"csm{k}_weight", weight)
                self.register_buffer(f"csm{k}_bias", bias)

    def forward(self, taps: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed: list[torch.Tensor] = [None] * len(taps)  # type: ignore[list-item]
        for k in reversed(range(len(taps))):
            x = F.conv2d(taps[k], getattr(self, f"ccm{k}_weight"), getattr(self, f"ccm{k}_bias"))  # (B, c_k, s_k, s_k)
            if k + 1 < len(taps):
                coarser = F.interpolate(mixed[k + 1], size=x.shape[-2:], mode="bilinear", align_corners=False)
                x = x + F.conv2d(coarser, getattr(self, f"csm{k}_weight"), getattr(self, f"csm{k}_bias"))
            mixed[k] = x
        return mixed


def _sn_conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel - 1) // 2 if stride == 1 else 1))


class Head(nn.Module):
    """One scale's trainable discriminator: a 3x3 conv, 4x4 stride-2 convs down to 4x4, a 1x1 conv to one
    logit per patch; spectral-normalised convolutions and leaky ReLUs (no normalisation layer: real and fake
    batches pass separately). (B, C, s, s) -> (B, 16) for s >= 4."""

    def __init__(self, c_in: int, width: int, side: int):
        super().__init__()
        layers = [_sn_conv(c_in, width, 3), nn.LeakyReLU(0.2)]
        while side > HEAD_SIDE:
            layers += [_sn_conv(width, width, 4, 2), nn.LeakyReLU(0.2)]
            side //= 2
        layers.append(_sn_conv(width, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)  # (B, patches)


class ProjectedDiscriminator(DiscriminatorBase):
    """(B, C, R, R) in [-1, 1] -> (B, K) patch logits over ``cfg.proj_scales`` scales."""

    def __init__(self, cfg: ProjectedConfig, channels: int, features: EfficientNetLite0 | None = None):
        super().__init__()
        if channels not in (1, 3):
            raise FaceganError(f"the projected discriminator sees RGB (or grayscale) images; got {channels} channels")
        self.side, self.scales = cfg.proj_side, cfg.proj_scales
        if cfg.proj_side // 4 // 2 ** (cfg.proj_scales - 1) < 1:
            raise FaceganError(f"proj_side {cfg.proj_side} is too small for {cfg.proj_scales} scales (the coarsest "
                               f"has stride {4 * 2 ** (cfg.proj_scales - 1)}): raise it or lower proj_scales")
        # Frozen and not a submodule: not in state_dict() or parameters(), never put in training mode (its
        # batch-norm statistics are ImageNet's); _apply below moves it with the module.
        self.__dict__["features"] = (features or pretrained_lite0()).eval().requires_grad_(False)
        self.mixing = FeatureMixing(TAP_CHANNELS[:cfg.proj_scales], cfg.proj_channels)
        sides = [cfg.proj_side // 4 // 2 ** k for k in range(cfg.proj_scales)]
        self.heads = nn.ModuleList(Head(c, cfg.proj_head_channels, max(s, 1))
                                   for c, s in zip(self.mixing.out_channels, sides))

    def _apply(self, fn, *args, **kwargs):  # .to(), .float(), channels_last: the feature network follows
        self.__dict__["features"]._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images  # grayscale as RGB
        if x.shape[-1] != self.side:
            x = F.interpolate(x, size=(self.side, self.side), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.side)
        taps = self.features.taps(x, self.scales)  # [(B, 24, side/4, side/4), (B, 40, side/8, side/8), ...]
        mixed = self.mixing(taps)
        return torch.cat([head(m) for head, m in zip(self.heads, mixed)], dim=1)  # (B, K)


class NativeAndProjected(DiscriminatorBase):
    """The architecture's own D beside the projected heads: (B, C, R, R) -> (B, 2K), the native logit
    repeated K times next to the K projected patch logits, so each side is half of every loss average."""

    def __init__(self, native: DiscriminatorBase, projected: ProjectedDiscriminator):
        super().__init__()
        self.native, self.projected = native, projected
        self.DRAWS_RANDOM = draws_random(native)  # the projected heads draw nothing; an MLP D its dropout masks

    @property
    def rng(self) -> torch.Generator | None:
        """The native D's random stream (an MLP D's dropout), set by the trainer like any D's."""
        return self.native.rng if draws_random(self.native) else None

    @rng.setter
    def rng(self, value: torch.Generator | None) -> None:
        set_random_stream(self.native, value)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        projected = self.projected(images)  # (B, K)
        native = self.native(images).reshape(images.shape[0], 1).expand(-1, projected.shape[1])  # (B, K)
        return torch.cat([native, projected], dim=1)


def build_discriminator(kind: str, cfg: ProjectedConfig, native: DiscriminatorBase,
                        channels: int) -> DiscriminatorBase:
    """The discriminator ``kind`` names, ``projected`` or ``native+projected`` (beside ``native``, the
    architecture's own D, which the registry keeps as it is)."""
    projected = ProjectedDiscriminator(cfg, channels)
    return projected if kind == "projected" else NativeAndProjected(native, projected)
