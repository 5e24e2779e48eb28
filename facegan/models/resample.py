"""FIR resampling without multiplying inserted zeros: ``upfirdn2d``'s result at a fraction of its cost on a CPU.

The reference ``upfirdn2d`` (``stylegan2.layers``, NVIDIA's ``_upfirdn2d_ref`` op for op) upsamples by
inserting zeros, pads, convolves with a depthwise convolution, then keeps every ``down``-th sample. That is
exact and simple, but for ``up=2`` three quarters of a 2-D pass's multiplications are by inserted zeros (15/16
for ``up=4``), for ``down=2`` three quarters of the computed samples are thrown away, and every step writes a
full map at the high rate.

Here the same linear map is one or two depthwise convolutions that skip both kinds of waste:

- upsampling by ``up`` = a transposed convolution with stride ``up`` and the filter itself (it computes each
  output phase from every ``up``-th tap: polyphase filtering, no zero is stored or multiplied), then a crop
  (or zero pad) to the reference's padding;
- downsampling by ``down`` = a convolution with stride ``down`` and the flipped filter (only the kept samples
  are computed).

On a CPU, oneDNN's depthwise kernels are several times faster on channels-last tensors (measured on a 2-core
Xeon: a strided 12-tap pass 77 ms against 247 ms contiguous, bench/RESULTS.md), so the maps are made
channels-last first. A separable (1-D) filter runs as two 1-D passes, except that for ``up=2`` one 2-D
transposed convolution with the outer product was faster; a 2-D filter (StyleGAN3-R's radially symmetric
ones) runs as one 2-D convolution (as fast here as two 1-D passes).

``upsample_uncropped`` + ``downsample_cropped`` are an upsampling and a downsampling with something pointwise
between (StyleGAN3's filtered leaky ReLU): the crop the reference makes after upsampling is done by the
downsampling's kernel and output instead, so the largest map is never copied.

Only the order of float additions differs from the reference: results agree to float32 rounding (the tests
bound the difference). Plain PyTorch, differentiable, any device.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def padding4(padding) -> tuple[int, int, int, int]:
    """int, (x, y) or (x0, x1, y0, y1) -> (x0, x1, y0, y1): upfirdn2d's padding convention."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    return tuple(padding)


def _depthwise(kernel: torch.Tensor, channels: int, like: torch.Tensor) -> torch.Tensor:
    """(kh, kw) -> (channels, 1, kh, kw): one copy of the kernel per channel, in x's dtype and device."""
    return kernel.to(like.device, like.dtype)[None, None].repeat(channels, 1, 1, 1)


def _crop_or_pad(x: torch.Tensor, x0: int, x1: int, y0: int, y1: int) -> torch.Tensor:
    """Remove (positive) or add zeros (negative) at each side: left, right, top, bottom."""
    if min(x0, x1, y0, y1) < 0:
        x = F.pad(x, [max(-x0, 0), max(-x1, 0), max(-y0, 0), max(-y1, 0)])
        x0, x1, y0, y1 = max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)
    return x[:, :, y0:x.shape[2] - y1, x0:x.shape[3] - x1]


def upfirdn2d_fast(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1, padding=0,
                   flip_filter: bool = False, gain: float = 1) -> torch.Tensor:
    """The reference ``upfirdn2d``'s result (same arguments: f (taps,) separable, (kh, kw), or None for a
    single tap), computed without the inserted zeros. x (N, C, H, W), returned channels-last."""
    px0, px1, py0, py1 = padding4(padding)
    c = x.shape[1]
    if f is None:
        f = torch.ones(1, 1, dtype=torch.float32)
    x = x.contiguous(memory_format=torch.channels_last)
    factor = up if up > 1 else down
    # (kernel (kh, kw), stride along y, along x), scaled as the reference scales f: gain ** (f.ndim / 2),
    # so a 1-D f gets sqrt(gain) in each of its two passes
    if f.ndim == 2:
        passes = [(f * gain, factor, factor)]
    elif up == 2:  # one 2-D transposed convolution with the outer product beat two 1-D ones here
        passes = [(f[:, None] * f[None, :] * gain, factor, factor)]
    else:
        passes = [(f[:, None] * gain ** 0.5, factor, 1), (f[None, :] * gain ** 0.5, 1, factor)]
    taps_y, taps_x = f.shape[0], f.shape[-1]
    if up > 1:
        # transposed convolution = insert zeros + full convolution with the kernel as it is: its output o
        # (length (L-1)*up + taps) relates to the reference's as y[j] = o[j + taps - 1 - pad0]
        for kernel, sy, sx in passes:
            kernel = kernel.flip([0, 1]) if flip_filter else kernel
            x = F.conv_transpose2d(x, _depthwise(kernel, c, x), stride=(sy, sx), groups=c)
        x = _crop_or_pad(x, taps_x - 1 - px0, taps_x - up - px1, taps_y - 1 - py0, taps_y - up - py1)
        return x[:, :, ::down, ::down] if down > 1 else x
    # no upsampling: pad (negative = crop), then a strided correlation with the flipped kernel
    x = _crop_or_pad(x, -px0, -px1, -py0, -py1)
    for kernel, sy, sx in passes:
        kernel = kernel if flip_filter else kernel.flip([0, 1])
        x = F.conv2d(x, _depthwise(kernel, c, x), stride=(sy, sx), groups=c)
    return x


def upsample_uncropped(x: torch.Tensor, f: torch.Tensor, up: int, padding,
                       gain: float) -> tuple[torch.Tensor, list[int]]:
    """``upfirdn2d_fast(x, f, up=up, padding=padding, gain=gain)`` before its final crop: (map, crop) with the
    crop's amounts [left, right, top, bottom] all >= 0 (zeros the padding asks for beyond them are added
    here), for ``downsample_cropped`` to apply without copying the largest map."""
    px0, px1, py0, py1 = padding4(padding)
    taps = f.shape[0]
    crop = [taps - 1 - px0, taps - up - px1, taps - 1 - py0, taps - up - py1]
    x = upfirdn2d_fast(x, f, up=up, padding=[px0 + crop[0], px1 + crop[1], py0 + crop[2], py1 + crop[3]], gain=gain)
    if min(crop) < 0:  # more zeros than the transposed convolution's reach: pad them now
        x = _crop_or_pad(x, *(min(a, 0) for a in crop))
    return x, [max(a, 0) for a in crop]


def downsample_cropped(x: torch.Tensor, f: torch.Tensor | None, down: int, crop: list[int],
                       gain: float = 1) -> torch.Tensor:
    """``upfirdn2d_fast(x[crop], f, down=down, gain=gain)`` without making the cropped copy: a crop start
    c = down * q + r rides on the kernel (r leading zero taps) and on the output (its first q samples are
    dropped; slicing the small output is a view). crop: [left, right, top, bottom] >= 0."""
    if f is None:
        f = torch.ones(1, 1, dtype=torch.float32)
    c = x.shape[1]
    x = x.contiguous(memory_format=torch.channels_last)
    left, right, top, bottom = crop
    out_h = -(-(x.shape[2] - top - bottom - f.shape[0] + 1) // down)
    out_w = -(-(x.shape[3] - left - right - f.shape[-1] + 1) // down)
    ry, rx = top % down, left % down
    # zeros after f's last tap are, once flipped for the correlation, r zeros before its first: it reads
    # x[down * i + r + k], and i = j + q is the cropped map's output j
    if f.ndim == 2:
        passes = [(F.pad(f * gain, [0, rx, 0, ry]), down, down)]
    else:
        passes = [(F.pad(f[None, :] * gain ** 0.5, [0, rx]), 1, down),
                  (F.pad(f[:, None] * gain ** 0.5, [0, 0, 0, ry]), down, 1)]
    for kernel, sy, sx in passes:
        x = F.conv2d(x, _depthwise(kernel.flip([0, 1]), c, x), stride=(sy, sx), groups=c)
    qy, qx = top // down, left // down
    return x[:, :, qy:qy + out_h, qx:qx + out_w]
