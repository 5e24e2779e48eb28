"""StyleGAN 1's style block (Karras et al., 2019; NVIDIA's ``training/networks_stylegan.py``), as the
``style_block="adain"`` option of the StyleGAN2 generator (``networks.py`` builds it; both build on
``layers.py``).

Per layer (``layer_epilogue`` there): 3x3 conv -> + per-pixel noise (per-channel weight, init 0) -> + bias
-> leaky ReLU 0.2 -> instance norm -> ``x * (1 + s_scale) + s_bias`` with (s_scale, s_bias) = A(w), an
equalised linear layer whose bias starts at 0 (so a zero w leaves the normalised map as it is). b4 starts
from a learned constant initialised to ones, styled by the same epilogue without a conv, then one conv.

What follows NVIDIA's code: the conv's equalised-lr gain sqrt(2) / sqrt(fan_in) sits in the weights and
the leaky ReLU has no gain (the instance norm removes any scale anyway); the instance norm runs in
float32. Where this differs, on purpose:

- the skeleton is StyleGAN2's "skip" one (this trainer has no progressive growing): every block has
  a toRGB, and img = upsample(img) + toRGB(x). StyleGAN 1's toRGB is kept: a plain 1x1 equalised conv
  + bias, unstyled, so no w goes to it and num_ws = 2 log2(R) - 2 (two AdaIN layers per block), the same
  count as the modulated generator;
- upsampling is the modulated layer's own (transposed stride-2 conv, then the [1, 3, 3, 1] FIR), not
  StyleGAN 1's nearest-neighbour upscale + [1, 2, 1] blur, so the two blocks differ only in the style;
- ``conv_clamp`` clamps a layer's output after the style (where values are O(1)), never before the
  instance norm: clamping there would cut off the strong local spikes (droplets) this block is
  compared for (``facegan.evaluation.droplets`` reads the instance norm's input through a forward hook
  on :class:`InstanceNorm`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from facegan.models.stylegan2.layers import (SQRT2, Conv2dLayer, FullyConnectedLayer, SkipSynthesisNetwork, bias_act,
                                             conv2d_resample, layer_noise, setup_filter, upsample2d)


def instance_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each (N, C) feature map to zero mean and unit RMS over its pixels, in float32 (NVIDIA's
    instance_norm): x - mean_HW(x), then * rsqrt(mean_HW(x^2) + eps). x (N, C, H, W)."""
    x = x.to(torch.float32)
    x = x - x.mean(dim=[2, 3], keepdim=True)
    return x * (x.square().mean(dim=[2, 3], keepdim=True) + eps).rsqrt()


def style_mod(x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """x * (1 + scale) + bias per channel. x (N, C, H, W); styles (N, 2C): C scales, then C biases
    (NVIDIA's reshape to (N, 2, C))."""
    n, c = x.shape[:2]
    scale, bias = styles.to(x.dtype).reshape(n, 2, c, 1, 1).unbind(dim=1)  # (N, C, 1, 1) each
    return x * (scale + 1) + bias


class InstanceNorm(nn.Module):
    """:func:`instance_norm` as a module without parameters, so a forward hook sees its input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return instance_norm(x)


class AdaINLayer(nn.Module):
    """(3x3 equalised conv, optionally up x2) -> noise -> bias -> lrelu -> instance norm -> style.
    ``in_channels`` 0: no conv (b4's epilogue on the learned constant). (N, I, r', r') -> (N, O, r, r)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, kernel_size: int = 3,
                 up: int = 1, conv_clamp: float | None = None):
        super().__init__()
        self.in_channels, self.resolution, self.up, self.conv_clamp = in_channels, resolution, up, conv_clamp
        self.register_buffer("resample_filter", setup_filter())
        self.padding = kernel_size // 2
        self.weight_gain = SQRT2 / math.sqrt(max(in_channels, 1) * kernel_size ** 2)  # NVIDIA's he gain
        weight = torch.randn(out_channels, in_channels, kernel_size, kernel_size) if in_channels else None
        self.weight = nn.Parameter(weight) if weight is not None else None
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros(out_channels))  # per channel (NVIDIA's Noise/weight)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.affine = FullyConnectedLayer(w_dim, 2 * out_channels, bias_init=0)  # (scale, bias), start at 0
        self.norm = InstanceNorm()

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                rng: torch.Generator | None = None) -> torch.Tensor:
        styles = self.affine(w)  # (N, 2 O)
        dtype = x.dtype
        if self.weight is not None:
            x = conv2d_resample(x, (self.weight * self.weight_gain).to(dtype), self.resample_filter, up=self.up,
                                padding=self.padding, flip_weight=(self.up == 1))  # (N, O, r, r)
        noise = layer_noise(noise_mode, x.shape[0], self.noise_const, rng)  # random (N, 1, r, r), const (r, r)
        if noise is not None:
            x = x + (noise * self.noise_strength.reshape(1, -1, 1, 1)).to(dtype)
        x = bias_act(x, self.bias, act="lrelu", gain=1)  # NVIDIA's plain leaky ReLU (its gain is in the weights)
        x = style_mod(self.norm(x), styles)  # float32
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x.to(dtype)


class AdaINBlock(nn.Module):
    """One resolution: (b4: the constant, ones at init, and its epilogue ``input``; else ``conv0`` up x2)
    ``conv1``, an unstyled 1x1 ``torgb``; img = upsample(img) + torgb(x). Takes ws (N, 2, w_dim)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 conv_clamp: float | None = None):
        super().__init__()
        self.in_channels, self.w_dim, self.resolution, self.img_channels = in_channels, w_dim, resolution, img_channels
        self.register_buffer("resample_filter", setup_filter())
        self.num_conv, self.num_torgb = 2, 0  # the toRGB takes no w
        if in_channels == 0:
            self.const = nn.Parameter(torch.ones(out_channels, resolution, resolution))
            self.input = AdaINLayer(0, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        else:
            self.conv0 = AdaINLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
        self.conv1 = AdaINLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = Conv2dLayer(out_channels, img_channels, 1, conv_clamp=conv_clamp)  # StyleGAN 1's: gain 1

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "random",
                fused_modconv: bool | None = None, rng: torch.Generator | None = None):
        """``fused_modconv`` is accepted for the synthesis network's call and means nothing here."""
        w0, w1 = ws.unbind(dim=1)  # (N, w_dim) each
        if self.in_channels == 0:
            x = self.input(self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1]), w0, noise_mode, rng)  # (N, C, 4, 4)
        else:
            x = self.conv0(x, w0, noise_mode, rng)  # (N, C, r, r) from (N, C_in, r/2, r/2)
        x = self.conv1(x, w1, noise_mode, rng)
        if img is not None:
            img = upsample2d(img, self.resample_filter)  # (N, img_channels, r, r)
        y = self.torgb(x).to(torch.float32)
        img = img + y if img is not None else y
        return x, img


class AdaINSynthesisNetwork(SkipSynthesisNetwork):
    """ws (N, num_ws, w_dim) -> image (N, img_channels, R, R) through AdaIN blocks b4 ... b{R};
    num_ws = 2 log2(R) - 2, ws[2k], ws[2k + 1] styling block b{2^(k+2)}. The skeleton is StyleGAN2's."""

    block_class = AdaINBlock
    torgb_takes_w = False  # StyleGAN 1's toRGB is a plain convolution

    def ws_resolutions(self) -> list[int]:
        """The image side each of the num_ws ws drives: two AdaIN layers per block (toRGB takes no w).
        64 px: [4, 4, 8, 8, 16, 16, 32, 32, 64, 64]."""
        return [res for res in self.block_resolutions for _ in range(2)]

