"""The layers StyleGAN2's two style blocks share: the modulated synthesis (``networks.py``), StyleGAN 1's
AdaIN synthesis (``adain.py``), and the discriminator. Both of those modules import this one; this one
imports neither (no I/O).

- the reference resampling ops, op for op as NVIDIA's ``torch_utils/ops`` (``_upfirdn2d_ref``,
  ``conv2d_resample``, ``_bias_act_ref``): ordinary conv2d / conv_transpose2d, so double backward (R1) works;
- the equalised-learning-rate linear and convolution layers;
- :func:`layer_noise`, the per-pixel noise every synthesis layer adds;
- :class:`SkipSynthesisNetwork`, the "skip" skeleton (blocks b4 ... b{R}, img = upsample(img) + toRGB(x))
  into which each style block puts its own block class;
- :func:`check_resolution` and :func:`block_channels`, the image sizes and channel counts it accepts.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from facegan.errors import FaceganError
from facegan.models.resample import padding4

FIR = (1, 3, 3, 1)  # the binomial low-pass filter of every up/downsampling
SQRT2 = math.sqrt(2)  # leaky ReLU's gain ("def_gain" of lrelu in the official bias_act)
NOISE_MODES = ("random", "const", "none")


# ----------------------------------------------------------------------------- resampling ops
def setup_filter(taps=FIR) -> torch.Tensor:
    """1-D taps -> the normalised 2-D FIR filter (outer product / sum), as the official setup_filter
    makes for fewer than 8 taps: [1, 3, 3, 1] -> a (4, 4) filter summing to 1."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f) if f.ndim == 1 else f
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1, padding=0,
              flip_filter: bool = False, gain: float = 1) -> torch.Tensor:
    """Upsample (insert up-1 zeros after each pixel), pad (negative = crop), convolve with the FIR
    filter ``f`` (true convolution unless ``flip_filter``), keep every ``down``-th pixel; the filter is
    scaled by gain^(ndim/2). The official ``_upfirdn2d_ref``, op for op. x (N, C, H, W)."""
    if f is None:
        f = torch.ones(1, 1, dtype=torch.float32, device=x.device)
    n, c, h, w = x.shape
    px0, px1, py0, py1 = padding4(padding)
    if up > 1:  # (N, C, H, 1, W, 1) -> zeros after each pixel -> (N, C, H*up, W*up)
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0):x.shape[2] - max(-py1, 0), max(-px0, 0):x.shape[3] - max(-px1, 0)]
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f[None, None].repeat([c, 1] + [1] * f.ndim)  # depthwise: one copy per channel
    if f.ndim == 4:
        x = F.conv2d(x, f, groups=c)
    else:  # separable taps: rows, then columns
        x = F.conv2d(F.conv2d(x, f.unsqueeze(2), groups=c), f.unsqueeze(3), groups=c)
    return x[:, :, ::down, ::down]


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H*up, W*up): zero insertion + FIR, gain up^2 (a constant stays constant)."""
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn2d(x, f, up=up, padding=[p0, p1, p0, p1], gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H/down, W/down): FIR, then every down-th pixel."""
    fw = f.shape[-1]
    p0, p1 = (fw - down + 1) // 2, (fw - down) // 2
    return upfirdn2d(x, f, down=down, padding=[p0, p1, p0, p1])


def _conv(x: torch.Tensor, w: torch.Tensor, stride: int = 1, padding=0, groups: int = 1,
          transpose: bool = False, flip_weight: bool = True) -> torch.Tensor:
    if not flip_weight:  # conv2d computes a correlation; flipping makes it a convolution
        w = w.flip([2, 3])
    op = F.conv_transpose2d if transpose else F.conv2d
    return op(x, w, stride=stride, padding=padding, groups=groups)


def conv2d_resample(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor | None = None, up: int = 1,
                    down: int = 1, padding: int = 0, groups: int = 1, flip_weight: bool = True) -> torch.Tensor:
    """Convolution with optional FIR up/downsampling, padding applied once (official conv2d_resample).
    Upsampling is a stride-2 transposed convolution followed by the FIR filter (gain up^2)."""
    out_channels, in_per_group, kh, kw = w.shape
    fw = f.shape[-1] if f is not None else 1
    px0, px1, py0, py1 = padding4(padding)
    if up > 1:
        px0, px1 = px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2
        py0, py1 = py0 + (fw + up - 1) // 2, py1 + (fw - up) // 2
    if down > 1:
        px0, px1 = px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2
        py0, py1 = py0 + (fw - down + 1) // 2, py1 + (fw - down) // 2
    pad = [px0, px1, py0, py1]

    if kw == 1 and kh == 1 and down > 1 and up == 1:  # 1x1 + down: downsample first (D's skip)
        return _conv(upfirdn2d(x, f, down=down, padding=pad), w, groups=groups, flip_weight=flip_weight)
    if kw == 1 and kh == 1 and up > 1 and down == 1:  # 1x1 + up: convolve first
        return upfirdn2d(_conv(x, w, groups=groups, flip_weight=flip_weight), f, up=up, padding=pad, gain=up ** 2)
    if down > 1 and up == 1:  # FIR, then a strided convolution (D's conv1)
        return _conv(upfirdn2d(x, f, padding=pad), w, stride=down, groups=groups, flip_weight=flip_weight)
    if up > 1:  # transposed strided convolution, then FIR (G's conv0)
        if groups == 1:
            w = w.transpose(0, 1)
        else:  # (G*O, I, k, k) -> (G*I, O, k, k)
            w = w.reshape(groups, out_channels // groups, in_per_group, kh, kw).transpose(1, 2)
            w = w.reshape(groups * in_per_group, out_channels // groups, kh, kw)
        px0, px1, py0, py1 = px0 - (kw - 1), px1 - (kw - up), py0 - (kh - 1), py1 - (kh - up)
        pxt, pyt = max(min(-px0, -px1), 0), max(min(-py0, -py1), 0)
        x = _conv(x, w, stride=up, padding=[pyt, pxt], groups=groups, transpose=True, flip_weight=not flip_weight)
        x = upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up ** 2)
        return upfirdn2d(x, f, down=down) if down > 1 else x
    if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:  # plain convolution
        return _conv(x, w, padding=[py0, px0], groups=groups, flip_weight=flip_weight)
    x = upfirdn2d(x, None, padding=pad)  # general fallback (asymmetric padding)
    return _conv(x, w, groups=groups, flip_weight=flip_weight)


def bias_act(x: torch.Tensor, b: torch.Tensor | None = None, act: str = "linear", gain: float | None = None,
             clamp: float | None = None) -> torch.Tensor:
    """x + b (per channel, dim 1), then leaky ReLU 0.2 ("lrelu") or nothing ("linear"), times gain
    (default sqrt(2) for lrelu, 1 for linear), then clamped to +-clamp (official _bias_act_ref)."""
    if b is not None:
        x = x + b.to(x.dtype).reshape([-1 if i == 1 else 1 for i in range(x.ndim)])
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
    gain = float(gain if gain is not None else (SQRT2 if act == "lrelu" else 1.0))
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


# ----------------------------------------------------------------------------- layers
class FullyConnectedLayer(nn.Module):
    """Equalised-learning-rate linear layer: y = x @ (W * lr_mul / sqrt(fan_in)).T + b * lr_mul,
    weights stored as N(0, 1) / lr_mul, so Adam's step size is the same for every layer."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class Conv2dLayer(nn.Module):
    """Equalised-learning-rate convolution (weight gain 1/sqrt(fan_in)) with optional FIR up/downsampling,
    bias, activation and clamp (the discriminator's layers)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", up: int = 1, down: int = 1, conv_clamp: float | None = None):
        super().__init__()
        self.activation, self.up, self.down, self.conv_clamp = activation, up, down, conv_clamp
        self.register_buffer("resample_filter", setup_filter())
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = SQRT2 if activation == "lrelu" else 1.0
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1) -> torch.Tensor:
        w = self.weight * self.weight_gain
        x = conv2d_resample(x, w.to(x.dtype), self.resample_filter, up=self.up, down=self.down,
                            padding=self.padding, flip_weight=(self.up == 1))
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)



# ----------------------------------------------------------------------------- synthesis
def layer_noise(noise_mode: str, batch_size: int, noise_const: torch.Tensor,
                rng: torch.Generator | None) -> torch.Tensor | None:
    """A synthesis layer's per-pixel noise, before its strength: fresh (N, 1, H, W) from ``rng`` ("random"),
    the layer's stored (H, W) map ``noise_const`` ("const", broadcast over the batch) or None ("none")."""
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)} (got {noise_mode!r})")
    if noise_mode == "random":
        return torch.randn([batch_size, 1, *noise_const.shape], device=noise_const.device, generator=rng)
    return noise_const if noise_mode == "const" else None


class SkipSynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> image (N, img_channels, R, R) through blocks b4 ... b{R} of ``block_class``.

    Each style block's network subclasses it and sets ``block_class`` (whose blocks take (x, img, ws) and
    say how many ws they use: ``num_conv`` of their own, plus ``num_torgb`` shared with the next block),
    ``torgb_takes_w`` (whether the last block's toRGB takes a w of its own) and ``ws_resolutions``.
    """
    block_class: type[nn.Module]
    torgb_takes_w: bool

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, conv_clamp: float | None = None):
        super().__init__()
        check_resolution(img_resolution)
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2 ** i for i in range(2, int(math.log2(img_resolution)) + 1)]
        channels = block_channels(img_resolution, channel_base, channel_max)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = self.block_class(channels[res // 2] if res > 4 else 0, channels[res], w_dim, res, img_channels,
                                     conv_clamp=conv_clamp)
            self.num_ws += block.num_conv
            setattr(self, f"b{res}", block)
        self.num_ws += 1 if self.torgb_takes_w else 0  # the last block's torgb

    def forward(self, ws: torch.Tensor, noise_mode: str | None = None, fused_modconv: bool | None = None,
                rng: torch.Generator | None = None) -> torch.Tensor:
        """``noise_mode`` None: "random" in training mode, "const" in eval mode (so W-space edits of a
        face are deterministic); random noise is drawn from ``rng`` (None: torch's global stream)."""
        noise_mode = noise_mode or ("random" if self.training else "const")
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"synthesis expects ws of shape (N, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            block_ws = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            x, img = block(x, img, block_ws, noise_mode=noise_mode, fused_modconv=fused_modconv, rng=rng)
        return img

    def ws_resolutions(self) -> list[int]:
        """The image side each of the num_ws ws drives (style mixing picks layers by it)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- sizes
def check_resolution(resolution: int) -> None:
    if resolution < 4 or resolution > 1024 or resolution & (resolution - 1):
        raise FaceganError(f"the stylegan2 architecture needs a square power-of-two image size from 4 to 1024 "
                           f"(got {resolution}); resize the data (--resolution) or pick another --arch")


def block_channels(resolution: int, channel_base: int, channel_max: int) -> dict[int, int]:
    """Channels at each side 4 ... resolution: min(channel_base // side, channel_max).

    >>> block_channels(64, 4096, 512)
    {4: 512, 8: 512, 16: 256, 32: 128, 64: 64}
    """
    return {2 ** i: min(channel_base // 2 ** i, channel_max) for i in range(2, int(math.log2(resolution)) + 1)}
