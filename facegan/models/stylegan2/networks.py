"""StyleGAN2 (Karras et al., 2020): config-F generator with the "skip" synthesis network and the
residual discriminator, in plain PyTorch, for square images of any power-of-two size 4..1024. No I/O.

The math, and every parameter and buffer name, follow NVIDIA's stylegan2-ada-pytorch
(``training/networks.py`` and the reference paths of ``torch_utils/ops``: ``_upfirdn2d_ref``,
``conv2d_resample``, ``_bias_act_ref``), so an official network's ``state_dict`` maps onto these
modules name for name (without class conditioning: c_dim 0). Everything runs as ordinary
conv2d / conv_transpose2d, so no compiled extension is needed and double backward (R1) works. The
resampling ops, the equalised layers, the per-pixel noise and the skip skeleton, which the AdaIN block
shares, are in ``layers.py``; this module holds the mapping, the modulated synthesis and the discriminator.

- Generator: z (N, latent_dim) -> ``mapping`` -> ws (N, num_ws, w_dim) -> ``synthesis`` -> (N, C, R, R).
  Like the official G there is no tanh: images are roughly in [-1, 1] and clamped when saved.
  Truncation, style mixing (:func:`mix_styles`) and W-space edits work on ws.
- Discriminator: (N, C, R, R) -> logits (N, 1); the sigmoid lives in the loss.

Feature maps of side r have ``min(channel_base // r, channel_max)`` channels (official FFHQ: 32768, 512).
``num_ws = 2 log2(R) - 2``: one w per conv layer plus one for the last ToRGB; block b{r}'s ToRGB
shares its w with the next block's conv0.

Random streams: the per-pixel noise of the synthesis layers and the style-mixing draws of training
come from ``G.rng`` (a ``torch.Generator`` on G's device; ``None`` = torch's global
stream) or from ``rng=`` passed to ``forward``, so a trainer that checkpoints that generator's
state resumes bit for bit. Noise mode defaults to "random" in training mode and "const" (the stored
``noise_const`` buffers) in eval mode, so a seed names the same face whatever the batch.

``style_block="adain"`` swaps the synthesis network for StyleGAN 1's AdaIN layers (``adain.py``, chosen
by :func:`build_synthesis`); the mapping network, the skip skeleton, num_ws, truncation, mixing and the
discriminator stay as here.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from facegan.errors import FaceganError
from facegan.models.contract import DiscriminatorBase, GeneratorBase
from facegan.models.stylegan2.adain import AdaINSynthesisNetwork
from facegan.models.stylegan2.config import MBSTD_GROUP, STYLE_BLOCKS, StyleGAN2Config
from facegan.models.stylegan2.layers import (SQRT2, Conv2dLayer, FullyConnectedLayer, SkipSynthesisNetwork, bias_act,
                                             block_channels, check_resolution, conv2d_resample, layer_noise,
                                             setup_filter, upsample2d)

CONV_CLAMP = 256  # official PyTorch training configs clamp conv outputs to +-256 (TF-converted FFHQ: None)


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """x / RMS(x) along ``dim``: z * rsqrt(mean(z^2) + eps)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, noise: torch.Tensor | None = None,
                     up: int = 1, padding: int = 0, resample_filter: torch.Tensor | None = None,
                     demodulate: bool = True, flip_weight: bool = True, fused_modconv: bool = True) -> torch.Tensor:
    """StyleGAN2's weight (de)modulation. x (N, I, H, W), weight (O, I, k, k), styles (N, I).

    Per sample n: W'[o, i] = W[o, i] * s[n, i]; demodulated, W''[o, i] = W'[o, i] / sqrt(sum_{i,k,k} W'^2 + 1e-8).
    ``fused_modconv``: one grouped convolution with the per-sample weights (the official eval path);
    else the input is scaled by s and the output by the demodulation coefficients around one shared
    convolution (the official training path: cheaper weight gradients). Same math, different rounding.
    """
    n = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    if x.dtype == torch.float16 and demodulate:  # pre-normalise against fp16 overflow (cancelled by demod)
        weight = weight * (1 / math.sqrt(in_channels * kh * kw)
                           / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    w = dcoefs = None
    if fused_modconv:
        w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)  # (N, O, I, k, k)
    if demodulate and fused_modconv:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # (N, O)
        w = w * dcoefs.reshape(n, -1, 1, 1, 1)
    elif demodulate:
        # The same sum without the (N, O, I, k, k) per-sample weights the official code builds here:
        # sum_{i,k} (W[o,i,k] s[n,i])^2 = sum_i s[n,i]^2 sum_k W[o,i,k]^2, a (N, I) @ (I, O) product.
        # On a CPU that tensor's products and their backward were ~3/4 of a training step (it is as
        # large as the convolution); the result differs from the official one by float rounding only.
        dcoefs = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()  # (N, O)

    if not fused_modconv:
        x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), resample_filter, up=up, padding=padding, flip_weight=flip_weight)
        if demodulate and noise is not None:  # x * d + noise in one rounding, as the official fma
            return torch.addcmul(noise.to(x.dtype), x, dcoefs.to(x.dtype).reshape(n, -1, 1, 1))
        if demodulate:
            return x * dcoefs.to(x.dtype).reshape(n, -1, 1, 1)
        return x + noise.to(x.dtype) if noise is not None else x

    # One grouped convolution: the batch becomes the groups, (1, N*I, H, W) * (N*O, I, k, k).
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_channels, kh, kw)
    x = conv2d_resample(x, w.to(x.dtype), resample_filter, up=up, padding=padding, groups=n, flip_weight=flip_weight)
    x = x.reshape(n, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, crossover) -> torch.Tensor:
    """Style mixing: ws (N, num_ws, w_dim) taking layers [0, crossover) from ws_a and the rest from
    ws_b (which may also be one w per sample, (N, w_dim)). ``crossover`` may be a 0-d tensor (no host
    sync); num_ws or more means ws_a unchanged, 0 means all ws_b."""
    if ws_b.ndim == 2:
        ws_b = ws_b.unsqueeze(1).expand_as(ws_a)
    layer = torch.arange(ws_a.shape[1], device=ws_a.device)
    return torch.where((layer >= torch.as_tensor(crossover, device=ws_a.device))[None, :, None], ws_b, ws_a)


# ----------------------------------------------------------------------------- mapping and modulated synthesis
class MappingNetwork(nn.Module):
    """z (N, z_dim) -> RMS-normalised -> num_layers equalised FC + lrelu (lr_mul 0.01) -> w, broadcast to
    (N, num_ws, w_dim). ``w_avg`` tracks the mean w (beta 0.995) in training mode; truncation pulls the
    first ``truncation_cutoff`` ws towards it: w_avg.lerp(w, psi)."""

    def __init__(self, z_dim: int, w_dim: int, num_ws: int, num_layers: int = 8, lr_multiplier: float = 0.01,
                 w_avg_beta: float = 0.995):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, w_dim, num_ws, num_layers
        self.w_avg_beta = w_avg_beta
        features = [z_dim] + [w_dim] * num_layers
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1], activation="lrelu",
                                                          lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, truncation_psi: float = 1, truncation_cutoff: int | None = None,
                update_w_avg: bool = True) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"mapping expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        x = normalize_2nd_moment(z.to(torch.float32))  # (N, z_dim)
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)  # (N, w_dim)
        x = x.to(torch.float32)  # (a no-op unless autocast ran the layers in bf16/fp16)
        if self.training and update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])  # (N, num_ws, w_dim)
        if truncation_psi != 1:
            truncated = self.w_avg.lerp(x, truncation_psi)
            if truncation_cutoff is None:
                x = truncated
            else:
                x = torch.cat([truncated[:, :truncation_cutoff], x[:, truncation_cutoff:]], dim=1)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally upsampling x2) + per-pixel noise + bias, lrelu * sqrt(2), clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, kernel_size: int = 3,
                 up: int = 1, conv_clamp: float | None = None):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.register_buffer("resample_filter", setup_filter())
        self.padding = kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)  # style s = A(w), about 1
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random", fused_modconv: bool = True,
                gain: float = 1, rng: torch.Generator | None = None) -> torch.Tensor:
        styles = self.affine(w)  # (N, I)
        noise = layer_noise(noise_mode, x.shape[0], self.noise_const, rng)  # random (N, 1, r, r), const (r, r)
        if noise is not None:
            noise = noise * self.noise_strength  # one strength for all channels
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, flip_weight=(self.up == 1),
                             fused_modconv=fused_modconv)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act="lrelu", gain=SQRT2 * gain, clamp=clamp)


class ToRGBLayer(nn.Module):
    """1x1 modulated conv to image channels, styles scaled by 1/sqrt(C_in), no demodulation, + bias."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1,
                 conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: (b4: the learned constant) conv0 (up x2), conv1, torgb;
    img = upsample(img) + torgb(x)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 conv_clamp: float | None = None):
        super().__init__()
        self.in_channels, self.w_dim, self.resolution, self.img_channels = in_channels, w_dim, resolution, img_channels
        self.register_buffer("resample_filter", setup_filter())
        self.num_conv, self.num_torgb = 0, 1
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.num_conv += 1
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "random",
                fused_modconv: bool | None = None, rng: torch.Generator | None = None):
        # ws: (N, num_conv + 1, w_dim); the last one is torgb's (and the next block's conv0's)
        w_iter = iter(ws.unbind(dim=1))
        if fused_modconv is None:
            fused_modconv = not self.training
        kwargs = dict(noise_mode=noise_mode, fused_modconv=fused_modconv, rng=rng)
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])  # (N, C, 4, 4)
        else:
            x = self.conv0(x, next(w_iter), **kwargs)  # (N, C, r, r) from (N, C_in, r/2, r/2)
        x = self.conv1(x, next(w_iter), **kwargs)
        if img is not None:
            img = upsample2d(img, self.resample_filter)  # (N, img_channels, r, r)
        y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv).to(torch.float32)
        img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(SkipSynthesisNetwork):
    """ws (N, num_ws, w_dim) -> image (N, img_channels, R, R) through modulated blocks b4 ... b{R}."""
    block_class = SynthesisBlock
    torgb_takes_w = True  # the last block's toRGB is modulated by a w of its own

    def ws_resolutions(self) -> list[int]:
        """The image side each of the num_ws ws drives. ws[0] is b4.conv1; then each block's conv0 and
        conv1 (conv0 shares its w with the previous block's toRGB); the last w is the final toRGB's.
        64 px: [4, 8, 8, 16, 16, 32, 32, 64, 64, 64]."""
        sides = [4]
        for res in self.block_resolutions[1:]:
            sides += [res, res]
        return sides + [self.block_resolutions[-1]]


def build_synthesis(style_block: str, w_dim: int, img_resolution: int, img_channels: int, channel_base: int,
                    channel_max: int, conv_clamp: float | None) -> nn.Module:
    """The synthesis network of a style block: StyleGAN2's modulated one, or StyleGAN 1's AdaIN one."""
    if style_block not in STYLE_BLOCKS:
        raise FaceganError(f"style_block must be one of {', '.join(STYLE_BLOCKS)} (got {style_block!r})")
    if style_block == "modulated":
        return SynthesisNetwork(w_dim, img_resolution, img_channels, channel_base, channel_max, conv_clamp)
    return AdaINSynthesisNetwork(w_dim, img_resolution, img_channels, channel_base, channel_max, conv_clamp)


class Generator(GeneratorBase):
    """z (N, latent_dim) -> (N, channels, resolution, resolution), roughly in [-1, 1].

    ``style_mixing``: in training mode, with this probability a batch's ws from a random crossover
    layer on come from a second z (mixing regularisation; the draws use the noise generator).
    """

    STYLE = True  # mapping z -> ws (N, num_ws, w_dim), synthesis ws -> images
    DRAWS_RANDOM = True  # per-pixel noise and style mixing in training mode, from self.rng

    def __init__(self, latent_dim: int = 512, w_dim: int = 512, resolution: int = 64, channels: int = 3,
                 channel_base: int = 32768, channel_max: int = 512, mapping_layers: int = 8,
                 conv_clamp: float | None = None, style_mixing: float = 0.0, mapping_lr_multiplier: float = 0.01,
                 w_avg_beta: float = 0.995, style_block: str = "modulated"):
        super().__init__()
        self.latent_dim, self.w_dim, self.resolution, self.channels = latent_dim, w_dim, resolution, channels
        self.channel_base, self.channel_max, self.mapping_layers = channel_base, channel_max, mapping_layers
        self.conv_clamp, self.style_mixing = conv_clamp, style_mixing
        self.mapping_lr_multiplier, self.w_avg_beta = mapping_lr_multiplier, w_avg_beta
        self.style_block = style_block
        self.rng: torch.Generator | None = None  # set by a trainer for bitwise resume
        self.synthesis = build_synthesis(style_block, w_dim, resolution, channels, channel_base, channel_max,
                                         conv_clamp)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(latent_dim, w_dim, self.num_ws, mapping_layers, mapping_lr_multiplier, w_avg_beta)

    def forward(self, z: torch.Tensor, truncation_psi: float = 1, truncation_cutoff: int | None = None,
                noise_mode: str | None = None, rng: torch.Generator | None = None) -> torch.Tensor:
        """``noise_mode`` None: "random" in training mode, "const" in eval mode. ``rng``: the
        stream for noise and style mixing (default ``self.rng``)."""
        if z.ndim == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)  # (N, latent_dim, 1, 1) -> (N, latent_dim), as dcgan accepts
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Generator expects z of shape (N, {self.latent_dim}) or "
                             f"(N, {self.latent_dim}, 1, 1), got {tuple(z.shape)}")
        rng = rng if rng is not None else self.rng
        ws = self.mapping(z, truncation_psi, truncation_cutoff)  # (N, num_ws, w_dim)
        if self.training and self.style_mixing > 0:
            ws = self.mixing_regularisation(z, ws, rng)
        return self.synthesis(ws, noise_mode=noise_mode, rng=rng)

    def mixing_regularisation(self, z: torch.Tensor, ws: torch.Tensor,
                              rng: torch.Generator | None = None) -> torch.Tensor:
        """As the official training loss: one crossover in [1, num_ws) per batch, used with probability
        ``style_mixing`` (else num_ws: no mixing); layers from it on take the ws of a fresh z (mapped
        without moving w_avg). Draws, in order: crossover, coin, z."""
        device = ws.device
        crossover = torch.randint(1, max(self.num_ws, 2), (), device=device, generator=rng)
        coin = torch.rand((), device=device, generator=rng)
        crossover = torch.where(coin < self.style_mixing, crossover, torch.full_like(crossover, self.num_ws))
        z2 = torch.randn(z.shape, device=device, dtype=z.dtype, generator=rng)
        return mix_styles(ws, self.mapping(z2, update_w_avg=False), crossover)

    mix_styles = staticmethod(mix_styles)  # G.mix_styles(ws_a, ws_b, crossover), for sampling-time mixing

    def arch(self) -> dict:
        """What is needed to rebuild this module (stored in exports). ``style_block`` is written only
        when it is not "modulated", so a modulated export's metadata stays what it always was (an
        export without the key is a modulated one)."""
        meta = {"arch": "stylegan2", "latent_dim": self.latent_dim, "w_dim": self.w_dim,
                "resolution": self.resolution, "channels": self.channels, "channel_base": self.channel_base,
                "channel_max": self.channel_max, "mapping_layers": self.mapping_layers,
                "conv_clamp": self.conv_clamp, "style_mixing": self.style_mixing,
                "mapping_lr_multiplier": self.mapping_lr_multiplier, "w_avg_beta": self.w_avg_beta}
        if self.style_block != "modulated":
            meta["style_block"] = self.style_block
        return meta


# ----------------------------------------------------------------------------- discriminator
class DiscriminatorBlock(nn.Module):
    """Residual block at side r: (fromrgb on the first), conv0 3x3, conv1 3x3 down x2, plus a 1x1
    down x2 skip; the two paths are summed with gain sqrt(1/2) each."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, resolution: int, img_channels: int,
                 conv_clamp: float | None = None):
        super().__init__()
        self.in_channels, self.resolution, self.img_channels = in_channels, resolution, img_channels
        self.register_buffer("resample_filter", setup_filter())
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)  # (N, tmp, r, r)
        y = self.skip(x, gain=math.sqrt(0.5))  # (N, out, r/2, r/2)
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


class MinibatchStdLayer(nn.Module):
    """Appends the mean standard deviation over groups of ``group_size`` images (per pixel, averaged
    over channels and pixels) as ``num_channels`` extra feature maps: D sees the batch's variety."""

    def __init__(self, group_size: int = 4, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        if n % g:
            raise ValueError(f"minibatch std: the batch ({n}) must be a multiple of the group size {g}")
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)  # (G, n, F, c, H, W); sample i is in group i % n
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()  # (n, F, c, H, W) std over each group
        y = y.mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)  # (n, F, 1, 1)
        y = y.repeat(g, 1, h, w)  # (N, F, H, W)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """At 4x4: minibatch std, conv 3x3, fc, out -> (N, 1)."""

    def __init__(self, in_channels: int, resolution: int, img_channels: int, mbstd_group_size: int = 4,
                 mbstd_num_channels: int = 1, conv_clamp: float | None = None, from_rgb: bool = False):
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        if from_rgb:  # only when D has no blocks (4x4 images); the official "skip" epilogue's name
            self.fromrgb = Conv2dLayer(img_channels, in_channels, 1, activation="lrelu")
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels)
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, 3, activation="lrelu",
                                conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if x is None:
            x = self.fromrgb(img)
        x = self.conv(self.mbstd(x.to(torch.float32)))  # (N, C, 4, 4)
        return self.out(self.fc(x.flatten(1)))  # (N, 1)


class Discriminator(DiscriminatorBase):
    """(N, channels, R, R) -> logits (N, 1): residual blocks b{R} ... b8, then the epilogue b4."""

    def __init__(self, resolution: int = 64, channels: int = 3, channel_base: int = 32768, channel_max: int = 512,
                 conv_clamp: float | None = None, mbstd_group_size: int = MBSTD_GROUP):
        super().__init__()
        check_resolution(resolution)
        self.resolution, self.channels = resolution, channels
        self.block_resolutions = [2 ** i for i in range(int(math.log2(resolution)), 2, -1)]
        ch = block_channels(resolution, channel_base, channel_max)
        for res in self.block_resolutions:
            setattr(self, f"b{res}", DiscriminatorBlock(ch[res] if res < resolution else 0, ch[res], ch[res // 2],
                                                        res, channels, conv_clamp=conv_clamp))
        self.b4 = DiscriminatorEpilogue(ch[4], 4, channels, mbstd_group_size, conv_clamp=conv_clamp,
                                        from_rgb=not self.block_resolutions)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, images)
        return self.b4(x, images)


# ----------------------------------------------------------------------------- registry entry points
def build_models(cfg: StyleGAN2Config, latent_dim: int, channels: int,
                 resolution: int) -> tuple[Generator, Discriminator]:
    check_resolution(resolution)
    if min(block_channels(resolution, cfg.channel_base, cfg.channel_max).values()) < 1:
        raise FaceganError(f"channel_base {cfg.channel_base} gives no channels at {resolution} px; "
                           f"use at least {resolution}")
    G = Generator(latent_dim, cfg.w_dim, resolution, channels, cfg.channel_base, cfg.channel_max,
                  cfg.mapping_layers, CONV_CLAMP, cfg.style_mixing, style_block=cfg.style_block)
    D = Discriminator(resolution, channels, cfg.channel_base, cfg.channel_max, CONV_CLAMP)
    return G, D


def generator_from_meta(meta: dict) -> Generator:
    """The generator an export's ``arch`` describes. Keys added later default to the values every
    earlier export was trained with (mapping lr multiplier 0.01, w_avg beta 0.995, modulated style block)."""
    clamp = meta.get("conv_clamp")
    return Generator(int(meta["latent_dim"]), int(meta["w_dim"]), int(meta["resolution"]), int(meta["channels"]),
                     int(meta["channel_base"]), int(meta["channel_max"]), int(meta["mapping_layers"]),
                     None if clamp is None else float(clamp), float(meta.get("style_mixing", 0.0)),
                     float(meta.get("mapping_lr_multiplier", 0.01)), float(meta.get("w_avg_beta", 0.995)),
                     str(meta.get("style_block", "modulated")))
