"""StyleGAN3's generator (config T and R) in plain PyTorch, fp32, CPU or GPU, no compiled ops. No I/O.

The math, the order of its float operations and every parameter and buffer name follow NVIDIA's stylegan3
(``training/networks_stylegan3.py``, with ``filtered_lrelu`` in its reference form ``_filtered_lrelu_ref`` =
bias, ``_upfirdn2d_ref`` upsampling, leaky ReLU with gain and clamp, ``_upfirdn2d_ref`` downsampling), so
an official ``G_ema``'s state dict loads name for name and the images equal NVIDIA's up to float rounding.

- z (N, latent_dim) -> ``mapping`` (StyleGAN2's: z normalised by its second moment, FC layers with lr
  multiplier 0.01, ``w_avg``, truncation) -> ws (N, num_ws, w_dim), ``num_ws = num_layers + 2``.
- ``synthesis``: ``input`` turns ws[0] into Fourier features (N, C0, S0, S0): frequencies and phases are
  buffers, rotated and translated by an affine of w and by the user ``transform`` (3x3, the inverse of the
  wanted image transform), out-of-band frequencies damped, then mixed by a trainable matrix. Each layer
  ``L{i}_{size}_{channels}`` takes ws[i + 1]: modulated conv (input gain from its magnitude EMA), then the
  filtered leaky ReLU (upsample with ``up_filter``, lrelu at the higher rate, downsample with
  ``down_filter``); the last two layers are critically sampled and the last one is a ToRGB (1x1, no
  demodulation); the output is scaled by ``output_scale``.
- T: 3x3 convolutions and separable Kaiser filters; R (``conv_kernel=1, use_radial_filters=True``): 1x1
  convolutions and radially symmetric (jinc) downsampling filters, 2-D buffers.

The filters are stored as buffers, so an import loads them from the file; a network built here designs
them as NVIDIA's code does (scipy ``firwin`` / a Kaiser-windowed jinc). There is no per-pixel noise
(StyleGAN3 has none): ``noise_mode`` is accepted and ignored, as in NVIDIA's layers. Import-only: no
discriminator, no training.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facegan.errors import FaceganError
from facegan.models.contract import GeneratorBase
from facegan.models.resample import downsample_cropped, upsample_uncropped
from facegan.models.stylegan2.layers import FullyConnectedLayer, upfirdn2d
from facegan.models.stylegan2.networks import MappingNetwork, mix_styles

# SynthesisNetwork and SynthesisLayer arguments of NVIDIA's StyleGAN3 with their official defaults (the
# importer refuses others). num_fp16_res only changes how NVIDIA's code runs on a GPU, not what it computes.
SYNTHESIS_DEFAULTS = {"channel_base": 32768, "channel_max": 512, "num_layers": 14, "num_critical": 2,
                      "first_cutoff": 2, "first_stopband": 2 ** 2.1, "last_stopband_rel": 2 ** 0.3,
                      "margin_size": 10, "output_scale": 0.25, "conv_kernel": 3, "filter_size": 6,
                      "lrelu_upsampling": 2, "use_radial_filters": False, "conv_clamp": 256,
                      "magnitude_ema_beta": 0.999}
SQRT2 = np.sqrt(2)  # the leaky ReLU's gain, as NVIDIA's layers pass it (a float64)


# ----------------------------------------------------------------------------- ops
def modulated_weights(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                      input_gain: torch.Tensor | None = None) -> torch.Tensor:
    """Each sample's weights of StyleGAN3's modulated convolution (N, O, I, k, k), for ``grouped_conv2d``.
    weight (O, I, k, k), styles (N, I), input_gain () or (I,): scales the input channels (the layer's 1 / RMS
    of its input).

    Unlike StyleGAN2's, weights and styles are first normalised (per output channel / over the whole batch):
    demodulation cancels both scales, so it changes rounding only, and NVIDIA does it for fp16's range."""
    n, in_channels = styles.shape
    if demodulate:
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.unsqueeze(1).unsqueeze(3).unsqueeze(4)  # (N, O, I, k, k)
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # (N, O)
        w = w * dcoefs.unsqueeze(2).unsqueeze(3).unsqueeze(4)
    if input_gain is not None:
        input_gain = input_gain.expand(n, in_channels)  # (N, I)
        w = w * input_gain.unsqueeze(1).unsqueeze(3).unsqueeze(4)
    return w


def grouped_conv2d(x: torch.Tensor, w: torch.Tensor, padding) -> torch.Tensor:
    """x (N, I, H, W) convolved with its own sample's weights w (N, O, I, k, k): the batch becomes the groups,
    (1, N*I, H, W) * (N*O, I, k, k). ``padding``: an int or (rows, columns)."""
    n, _, in_channels, kh, kw = w.shape
    x = x.reshape(1, -1, *x.shape[2:])
    x = F.conv2d(x, w.reshape(-1, in_channels, kh, kw).to(x.dtype), padding=padding, groups=n)
    return x.reshape(n, -1, *x.shape[2:])


def per_sample_conv2d(x: torch.Tensor, w: torch.Tensor, padding) -> torch.Tensor:
    """``grouped_conv2d``'s result, one sample at a time, keeping x's channels-last layout: the fast path's
    convolution. Folding the batch into the channels (``grouped_conv2d``) recomputes a channels-last map's
    strides into ones oneDNN does not recognise, so it copies the map to NCHW and runs its slower kernel:
    2.5x the time of this on T-1024's 1,044 px layers (bench/RESULTS.md). x (N, I, H, W), w (N, O, I, k, k)."""
    w = w.to(x.dtype)
    if x.shape[0] == 1:
        return F.conv2d(x, w[0], padding=padding)
    return torch.cat([F.conv2d(x[i:i + 1], w[i], padding=padding) for i in range(x.shape[0])])


def filtered_lrelu(x: torch.Tensor, fu: torch.Tensor | None, fd: torch.Tensor | None, b: torch.Tensor, up: int,
                   down: int, padding: list[int], gain: float, slope: float, clamp: float | None) -> torch.Tensor:
    """NVIDIA's ``_filtered_lrelu_ref``: bias; upsample by ``up`` with the filter ``fu`` (gain up^2) and pad;
    leaky ReLU (``slope``) times ``gain``, clamped to +-clamp; filter with ``fd`` and keep every ``down``-th
    pixel. The leaky ReLU runs at the higher sampling rate, so the frequencies it creates above the output's
    band are filtered out instead of aliasing. x (N, C, H, W)."""
    x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up ** 2)
    return upfirdn2d(filtered_lrelu_activation(x, slope, gain, clamp), fd, down=down)


# the fast path's bands: at most this many bytes of map at the leaky ReLU's rate at a time. A 1024 px layer's
# map there is 2,048+ px square: 18 MB a channel, 1.5 GB (T) to 2.9 GB (R) for all of L10's channels at once.
FAST_BAND_BYTES = 128 << 20


def filtered_lrelu_fast(x: torch.Tensor | RowSource, fu: torch.Tensor | None, fd: torch.Tensor | None,
                        b: torch.Tensor, up: int, down: int, padding: list[int], gain: float, slope: float,
                        clamp: float | None, band_bytes: int | None = None) -> torch.Tensor:
    """``filtered_lrelu``'s result to float rounding, computed without inserted zeros or dropped samples
    (``facegan.models.resample``), the leaky ReLU's gain moved into the downsampling filter, and in bands of
    output rows, so that the map at the leaky ReLU's rate (the reference's memory peak) never exists whole.
    Bands keep every channel (the depthwise kernels vectorise across channels) and overlap by the filters'
    reach. x (N, C, H, W) -> channels-last.

    Output rows [j0, j1) read high-rate rows m in [j0 * down, (j1 - 1) * down + taps_down), which read the
    input rows i with 0 <= i * up + pad_top - m < taps_up; the band's own top padding makes its first
    high-rate row the wanted one: pad_top' = i0 * up + pad_top - m0 (negative = crop).

    ``x`` may be a ``RowSource`` instead of a tensor: the layer's convolution computed band by band too, so
    that its output never exists whole either."""
    source = x if isinstance(x, RowSource) else RowSource.of(x)
    n, c, h, w = source.shape
    px0, px1, py0, py1 = padding
    if fu is None or fd is None or (up, down) == (1, 1):  # the ToRGB layer, or not a layer NVIDIA's networks have
        x = source.rows(0, h)
        if fu is None and fd is None and up == down == 1 and not any(padding):  # ToRGB: no resampling
            return _lrelu_gain_clamp_(x + b.to(x.dtype).reshape(1, -1, 1, 1), slope, gain, clamp)
        return filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp)
    taps_up, taps_down = fu.shape[0], fd.shape[0]
    high_h, high_w = h * up + py0 + py1 - taps_up + 1, w * up + px0 + px1 - taps_up + 1
    out_h, out_w = -(-(high_h - taps_down + 1) // down), -(-(high_w - taps_down + 1) // down)
    row_bytes = n * c * high_w * 4
    band_bytes = FAST_BAND_BYTES if band_bytes is None else band_bytes
    band = max(1, (band_bytes // row_bytes - taps_down) // down + 1)  # output rows per band
    bias = b.to(torch.float32).reshape(1, -1, 1, 1)
    # clamp(gain * lrelu(y), +-c) = gain * clamp(lrelu(y), +-c / gain): the gain rides on the linear
    # downsampling's filter, one pass less over the largest map (a rounding-level difference)
    bound = None if clamp is None or clamp < 0 else clamp / gain
    activation = functools.partial(_lrelu_gain_clamp_, slope=slope, gain=1, clamp=bound)
    # filled band by band (no list of bands concatenated into a second copy), allocated before the bands'
    # temporary maps so that those, freed and made again band after band, reuse the same memory
    out = torch.empty((n, c, out_h, out_w), dtype=torch.float32, device=bias.device,
                      memory_format=torch.channels_last)
    for j0 in range(0, out_h, band):
        j1 = min(out_h, j0 + band)
        m0, m1 = j0 * down, (j1 - 1) * down + taps_down  # the band's high-rate rows
        i0 = max(0, -((py0 - m0) // up))  # ceil((m0 - pad_top) / up)
        i1 = min(h, (m1 + taps_up - 2 - py0) // up + 1)
        top = i0 * up + py0 - m0
        bottom = (m1 - m0) + taps_up - 1 - (i1 - i0) * up - top
        # the high-rate map keeps the margin its padding crops: the downsampling skips it without a copy
        y, crop = upsample_uncropped(source.rows(i0, i1) + bias, fu, up, [px0, px1, top, bottom], gain=up ** 2)
        rows = downsample_cropped(activation(y), fd, down, crop, gain=gain)
        del y  # this band's high-rate map goes before the next one is made
        out[:, :, j0:j1] = rows
    return out


class RowSource:
    """Rows [i0, i1) of an (N, C, H, W) map on demand: a tensor's, or a modulated convolution's output computed
    for just those rows (its input rows and the kernel's reach), so that the output never exists whole."""

    def __init__(self, shape: tuple[int, int, int, int], rows):
        self.shape, self.rows = shape, rows

    @staticmethod
    def of(x: torch.Tensor) -> RowSource:
        return RowSource(tuple(x.shape), lambda i0, i1: x[:, :, i0:i1])

    @staticmethod
    def conv(x: torch.Tensor, weights: torch.Tensor, padding: int) -> RowSource:
        """``per_sample_conv2d(x, weights, padding)`` by rows: output row r reads input rows r - padding .. r -
        padding + k - 1 (zeros outside). x (N, I, H, W), weights (N, O, I, k, k)."""
        n, o, _, k, _ = weights.shape
        h, w = x.shape[2] + 2 * padding - k + 1, x.shape[3] + 2 * padding - k + 1

        def rows(i0: int, i1: int) -> torch.Tensor:
            lo, hi = i0 - padding, i1 - padding + k - 1  # input rows, before clipping to the map
            part = x[:, :, max(lo, 0):min(hi, x.shape[2])]
            part = F.pad(part, [0, 0, max(-lo, 0), max(hi - x.shape[2], 0)]) if lo < 0 or hi > x.shape[2] else part
            return per_sample_conv2d(part, weights, (0, padding))

        return RowSource((n, o, h, w), rows)


def _lrelu_gain_clamp_(x: torch.Tensor, slope: float, gain: float, clamp: float | None) -> torch.Tensor:
    """In the reference's order: leaky ReLU, times gain, clamped to +-clamp; in place unless autograd needs
    the intermediate results (projecting a photo differentiates through the fast path)."""
    if torch.is_grad_enabled() and x.requires_grad:
        return filtered_lrelu_activation(x, slope, gain, clamp)
    if slope != 1:
        F.leaky_relu(x, slope, inplace=True)
    if gain != 1:
        x.mul_(gain)
    if clamp is not None and clamp >= 0:
        x.clamp_(-clamp, clamp)
    return x


def filtered_lrelu_activation(x: torch.Tensor, slope: float, gain: float, clamp: float | None) -> torch.Tensor:
    """The middle of ``filtered_lrelu``: leaky ReLU, times gain, clamped to +-clamp."""
    x = F.leaky_relu(x, slope)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float,
                          radial: bool = False) -> torch.Tensor | None:
    """NVIDIA's filter design: None for 1 tap (identity); a separable Kaiser low-pass (taps,) by scipy's
    firwin; or, ``radial``, a Kaiser-windowed jinc (taps, taps) normalised to sum 1."""
    if numtaps == 1:
        return None
    import scipy.signal
    import scipy.special
    if not radial:
        return torch.as_tensor(scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs),
                               dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    f *= np.outer(window, window)
    f /= np.sum(f)
    return torch.as_tensor(f, dtype=torch.float32)


def image_transform(rotate: float = 0.0, translate: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
    """The input's ``transform`` buffer (3, 3) that turns the image by ``rotate`` degrees (counter-clockwise)
    and moves it by ``translate`` (x, y) in units of the image's half-width, as NVIDIA's gen_images.py
    builds it: the inverse of [[c, s, tx], [-s, c, ty], [0, 0, 1]]."""
    m = np.eye(3)
    s, c = np.sin(rotate / 360.0 * np.pi * 2), np.cos(rotate / 360.0 * np.pi * 2)
    m[0][0], m[0][1], m[0][2] = c, s, translate[0]
    m[1][0], m[1][1], m[1][2] = -s, c, translate[1]
    return torch.from_numpy(np.linalg.inv(m)).float()


# ----------------------------------------------------------------------------- layers
class SynthesisInput(nn.Module):
    """w (N, w_dim) -> Fourier features (N, channels, size, size) at ``sampling_rate`` with frequencies in a
    disc of radius ``bandwidth``."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, int(size)
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        freqs = torch.randn([channels, 2])  # random frequencies from a uniform 2-D disc, random phases
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= bandwidth
        phases = torch.rand([channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([channels, channels]))  # the trainable channel mixing
        self.affine = FullyConnectedLayer(w_dim, 4)  # w -> (r_c, r_s, t_x, t_y): starts as the identity
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3, 3))  # the user's inverse transform of the image
        self.register_buffer("freqs", freqs)  # (channels, 2)
        self.register_buffer("phases", phases)  # (channels,)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        transforms = self.transform.unsqueeze(0)  # (1, 3, 3)
        freqs, phases = self.freqs.unsqueeze(0), self.phases.unsqueeze(0)  # (1, C, 2), (1, C)
        t = self.affine(w)  # (N, 4) = (r_c, r_s, t_x, t_y), the rotation part normalised to unit length
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device).unsqueeze(0).repeat([w.shape[0], 1, 1])  # inverse rotation
        m_r[:, 0, 0] = t[:, 0]
        m_r[:, 0, 1] = -t[:, 1]
        m_r[:, 1, 0] = t[:, 1]
        m_r[:, 1, 1] = t[:, 0]
        m_t = torch.eye(3, device=w.device).unsqueeze(0).repeat([w.shape[0], 1, 1])  # inverse translation
        m_t[:, 0, 2] = -t[:, 2]
        m_t[:, 1, 2] = -t[:, 3]
        transforms = m_r @ m_t @ transforms  # rotate, then translate, then the user's transform: (N, 3, 3)
        phases = phases + (freqs @ transforms[:, :2, 2:]).squeeze(2)  # (N, C)
        freqs = freqs @ transforms[:, :2, :2]  # (N, C, 2)
        # a user transform may push frequencies out of band: fade them out instead of aliasing
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = 0.5 * self.size / self.sampling_rate
        theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grids = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)  # (1, S, S, 2)
        x = (grids.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # (N, S, S, C)
        x = x + phases.unsqueeze(1).unsqueeze(2)
        x = torch.sin(x * (np.pi * 2))
        x = x * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)  # (N, C, S, S)


class SynthesisLayer(nn.Module):
    """Modulated conv + filtered leaky ReLU from (in_channels, in_size) at in_sampling_rate to
    (out_channels, out_size) at out_sampling_rate; the ToRGB layer is a 1x1 modulated conv without
    demodulation, bias and clamp only."""

    def __init__(self, w_dim: int, is_torgb: bool, is_critically_sampled: bool, in_channels: int, out_channels: int,
                 in_size: int, out_size: int, in_sampling_rate: int, out_sampling_rate: int, in_cutoff: float,
                 out_cutoff: float, in_half_width: float, out_half_width: float, conv_kernel: int = 3,
                 filter_size: int = 6, lrelu_upsampling: int = 2, use_radial_filters: bool = False,
                 conv_clamp: float | None = 256, magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.is_torgb, self.is_critically_sampled = is_torgb, is_critically_sampled
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size, self.out_size = int(in_size), int(out_size)
        self.in_sampling_rate, self.out_sampling_rate = in_sampling_rate, out_sampling_rate
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.in_cutoff, self.out_cutoff = in_cutoff, out_cutoff
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))  # the mean square of the layer's input

        self.up_factor = int(np.rint(self.tmp_sampling_rate / in_sampling_rate))
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(self.up_taps, in_cutoff, in_half_width * 2,
                                                                self.tmp_sampling_rate))
        self.down_factor = int(np.rint(self.tmp_sampling_rate / out_sampling_rate))
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer("down_filter", design_lowpass_filter(self.down_taps, out_cutoff, out_half_width * 2,
                                                                  self.tmp_sampling_rate, radial=self.down_radial))
        if self.in_sampling_rate * self.up_factor != self.tmp_sampling_rate \
                or self.out_sampling_rate * self.down_factor != self.tmp_sampling_rate:
            raise FaceganError(f"a StyleGAN3 layer's sampling rates ({in_sampling_rate} -> {out_sampling_rate}) are "
                               "not integer multiples of its leaky ReLU's rate")
        # padding: the size the filters need around the upsampled input, split by the symmetric reading
        # of NVIDIA's Appendix C.3 (one value for x and y: the layers are square)
        pad_total = (self.out_size - 1) * self.down_factor + 1
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [int(pad_lo), int(pad_hi), int(pad_lo), int(pad_hi)]

    def forward(self, x: torch.Tensor, w: torch.Tensor, exact: bool = True) -> torch.Tensor:
        """x (N, in_channels, in_size, in_size), w (N, w_dim) -> (N, out_channels, out_size, out_size);
        ``exact``: NVIDIA's reference ops (else ``filtered_lrelu_fast``, the same up to float rounding)."""
        input_gain = self.magnitude_ema.rsqrt()
        styles = self.affine(w)  # (N, in_channels)
        if self.is_torgb:
            styles = styles * (1 / np.sqrt(self.in_channels * (self.conv_kernel ** 2)))
        weights = modulated_weights(self.weight, styles, demodulate=not self.is_torgb, input_gain=input_gain)
        gain, slope = (1, 1) if self.is_torgb else (SQRT2, 0.2)
        x = x.to(torch.float32)
        if exact:
            x = grouped_conv2d(x, weights, self.conv_kernel - 1)
            return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, self.up_factor, self.down_factor,
                                  self.padding, gain, slope, self.conv_clamp)
        rows = RowSource.conv(x, weights, self.conv_kernel - 1)  # the convolution too runs band by band
        return filtered_lrelu_fast(rows, self.up_filter, self.down_filter, self.bias, self.up_factor,
                                   self.down_factor, self.padding, gain, slope, self.conv_clamp)


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> images (N, img_channels, img_resolution, img_resolution).

    The layers' cutoffs and stopbands grow geometrically from ``first_cutoff`` to the image's Nyquist rate
    over ``num_layers - num_critical`` layers; each layer samples at the power of two just above twice its
    stopband (at most the image's resolution), with ``margin_size`` extra pixels on each side until the
    last two layers."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, **kwargs):
        super().__init__()
        unknown = sorted(set(kwargs) - set(SYNTHESIS_DEFAULTS))
        if unknown:
            raise FaceganError(f"StyleGAN3's synthesis network has no argument {unknown[0]}")
        a = {**SYNTHESIS_DEFAULTS, **kwargs}
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_layers, self.num_critical = a["num_layers"], a["num_critical"]
        self.num_ws = self.num_layers + 2
        self.output_scale = a["output_scale"]
        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * a["last_stopband_rel"]
        exponents = np.minimum(np.arange(self.num_layers + 1) / (self.num_layers - self.num_critical), 1)
        cutoffs = a["first_cutoff"] * (last_cutoff / a["first_cutoff"]) ** exponents
        stopbands = a["first_stopband"] * (last_stopband / a["first_stopband"]) ** exponents
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
        sizes = sampling_rates + a["margin_size"] * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((a["channel_base"] / 2) / cutoffs, a["channel_max"]))
        channels[-1] = img_channels
        self.cutoffs = [float(c) for c in cutoffs]
        self.exact = False  # True: NVIDIA's reference ops (the parity tests'); False: the fast path (drawing)

        self.input = SynthesisInput(w_dim, int(channels[0]), int(sizes[0]), sampling_rates[0], cutoffs[0])
        self.layer_names = []
        layer_kwargs = {k: a[k] for k in ("conv_kernel", "filter_size", "lrelu_upsampling", "use_radial_filters",
                                          "conv_clamp", "magnitude_ema_beta")}
        for idx in range(self.num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim, is_torgb=idx == self.num_layers, is_critically_sampled=idx >= self.num_layers - self.num_critical,
                in_channels=int(channels[prev]), out_channels=int(channels[idx]), in_size=int(sizes[prev]),
                out_size=int(sizes[idx]), in_sampling_rate=int(sampling_rates[prev]),
                out_sampling_rate=int(sampling_rates[idx]), in_cutoff=cutoffs[prev], out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev], out_half_width=half_widths[idx], **layer_kwargs)
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def ws_resolutions(self) -> list[int]:
        """The image side whose detail each of the num_ws ws drives: twice its layer's cutoff frequency (the
        input and the first layer carry 4 px structure, the last layers the full resolution), so style
        mixing's coarse / middle / fine groups mean what they mean for StyleGAN2."""
        cutoffs = [self.cutoffs[0]] + self.cutoffs + [self.cutoffs[-1]]
        return [int(round(2 * c)) for c in cutoffs[:self.num_ws]]

    def forward(self, ws: torch.Tensor, noise_mode: str | None = None, rng: torch.Generator | None = None) -> torch.Tensor:
        """``noise_mode`` and ``rng``: accepted for the style generators' common interface; StyleGAN3 has no noise."""
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"synthesis expects ws of shape (N, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w, exact=self.exact)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


class Generator(GeneratorBase):
    """z (N, latent_dim) -> (N, channels, resolution, resolution), roughly in [-1, 1]; ``arch()`` rebuilds it."""

    STYLE = True  # mapping z -> ws (N, num_ws, w_dim), synthesis ws -> images
    CAN_TRANSFORM = True  # transformed(rotate, translate): the Fourier-feature input turns and moves
    HAS_FAST_PATH = True  # exact: NVIDIA's reference ops, or the fast path

    def __init__(self, latent_dim: int = 512, w_dim: int = 512, resolution: int = 1024, channels: int = 3,
                 mapping_layers: int = 2, mapping_lr_multiplier: float = 0.01, w_avg_beta: float = 0.998,
                 **synthesis_kwargs):
        super().__init__()
        self.latent_dim, self.w_dim, self.resolution, self.channels = latent_dim, w_dim, resolution, channels
        self.mapping_layers, self.mapping_lr_multiplier, self.w_avg_beta = mapping_layers, mapping_lr_multiplier, w_avg_beta
        self.synthesis_kwargs = {**SYNTHESIS_DEFAULTS, **synthesis_kwargs}
        self.synthesis = SynthesisNetwork(w_dim, resolution, channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(latent_dim, w_dim, self.num_ws, mapping_layers, mapping_lr_multiplier, w_avg_beta)

    def forward(self, z: torch.Tensor, truncation_psi: float = 1, truncation_cutoff: int | None = None,
                noise_mode: str | None = None, rng: torch.Generator | None = None) -> torch.Tensor:
        if z.ndim == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)
        ws = self.mapping(z, truncation_psi, truncation_cutoff, update_w_avg=False)  # (N, num_ws, w_dim)
        return self.synthesis(ws)

    mix_styles = staticmethod(mix_styles)

    @property
    def exact(self) -> bool:
        """True: NVIDIA's reference ops, op for op (the parity tests and ``--exact``); False (the default):
        the fast path, the same images up to float rounding (<= 1e-4) in a fraction of the time and memory."""
        return self.synthesis.exact

    @exact.setter
    def exact(self, value: bool) -> None:
        self.synthesis.exact = bool(value)

    @contextlib.contextmanager
    def transformed(self, rotate: float = 0.0, translate: tuple[float, float] = (0.0, 0.0)):
        """Draw with the image turned by ``rotate`` degrees and moved by ``translate`` (half-widths) inside
        the block: the Fourier features are rotated and shifted, so the face moves and the texture with it."""
        buffer = self.synthesis.input.transform
        before = buffer.clone()
        buffer.copy_(image_transform(rotate, translate).to(buffer.device))
        try:
            yield self
        finally:
            buffer.copy_(before)

    def arch(self) -> dict:
        return {"arch": "stylegan3", "latent_dim": self.latent_dim, "w_dim": self.w_dim,
                "resolution": self.resolution, "channels": self.channels, "mapping_layers": self.mapping_layers,
                "mapping_lr_multiplier": self.mapping_lr_multiplier, "w_avg_beta": self.w_avg_beta,
                **self.synthesis_kwargs}

    @property
    def variant(self) -> str:
        """'R' (1x1 convolutions, radial filters) or 'T' (translation equivariant)."""
        return "R" if self.synthesis_kwargs["use_radial_filters"] or self.synthesis_kwargs["conv_kernel"] == 1 else "T"


# ----------------------------------------------------------------------------- registry entry points
def build_models(cfg, latent_dim: int, channels: int, resolution: int):
    raise FaceganError("stylegan3 is import-only in facegan (facegan import stylegan3 FILE.pkl); train --arch "
                       "stylegan2 for a style generator of your own")


def generator_from_meta(meta: dict) -> Generator:
    synthesis = {k: meta[k] for k in SYNTHESIS_DEFAULTS if k in meta}
    return Generator(int(meta["latent_dim"]), int(meta["w_dim"]), int(meta["resolution"]), int(meta["channels"]),
                     int(meta["mapping_layers"]), float(meta["mapping_lr_multiplier"]), float(meta["w_avg_beta"]),
                     **synthesis)
