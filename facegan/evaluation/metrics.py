"""Quality metrics that run offline: SWD and MS-SSIM diversity; FID/KID on any feature network.

Each metric is a function ``(fake, real, ...) -> dict`` of uint8 (N, 3, 64, 64) image tensors,
registered in :mod:`facegan.evaluation.registry`. Statistics are computed in float32 on the CPU/CUDA
and in float64 only on the CPU (MPS has no float64).

- ``swd``: sliced Wasserstein distance between 7x7 Laplacian-pyramid patches (Karras et al. 2018,
  ProGAN protocol): 128 patches per image per level, per-channel normalisation of each set, 4 repeats
  of 128 random directions (512 projections), reported x1e3 per level (64, 32, 16 px) and averaged.
  Lower is closer to the real distribution.
- ``msssim``: mean multi-scale SSIM over random pairs of images in one set (Odena et al. 2017):
  1 means every pair is identical (mode collapse), lower means more diverse. Reported for the fakes
  with the same figure for real pairs as the reference.
- ``fid`` / ``kid``: through torchmetrics, on the features of a network you pass, or of Inception-v3
  loaded from a local weights file (``facegan download inception``); never downloaded here.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facegan.errors import FaceganError
from facegan.fileio import cache_root

# ----------------------------------------------------------------------------- SWD (ProGAN)
SWD_LEVELS = (64, 32, 16)  # Laplacian pyramid of a 64x64 image down to 16x16
_GAUSS_5 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])


def _blur(x: torch.Tensor) -> torch.Tensor:
    """5x5 binomial filter per channel, reflect-padded. (N, C, H, W) -> same shape."""
    k = torch.outer(_GAUSS_5, _GAUSS_5).to(x)
    k = (k / k.sum()).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])


def _pyr_down(x: torch.Tensor) -> torch.Tensor:
    return _blur(x)[:, :, ::2, ::2]


def _pyr_up(x: torch.Tensor) -> torch.Tensor:
    up = torch.zeros(x.shape[0], x.shape[1], x.shape[2] * 2, x.shape[3] * 2, dtype=x.dtype, device=x.device)
    up[:, :, ::2, ::2] = x
    return _blur(up) * 4


def laplacian_pyramid(images: torch.Tensor, levels: int = len(SWD_LEVELS)) -> list[torch.Tensor]:
    """(N, 3, 64, 64) float -> [band 64x64, band 32x32, low-pass 16x16]."""
    pyramid, current = [], images
    for _ in range(levels - 1):
        down = _pyr_down(current)
        pyramid.append(current - _pyr_up(down))
        current = down
    pyramid.append(current)
    return pyramid


def _patches(level: torch.Tensor, per_image: int, size: int, rng: torch.Generator) -> torch.Tensor:
    """Random size x size neighbourhoods: (N, C, H, W) -> (N * per_image, C * size * size)."""
    n, c, h, w = level.shape
    half = size // 2
    ys = torch.randint(half, h - half, (n, per_image), generator=rng)
    xs = torch.randint(half, w - half, (n, per_image), generator=rng)
    offsets = torch.arange(-half, half + 1)
    rows = (ys[..., None] + offsets)[..., :, None]  # (n, p, size, 1)
    cols = (xs[..., None] + offsets)[..., None, :]  # (n, p, 1, size)
    flat = level.flatten(2)  # (n, c, h*w)
    index = (rows * w + cols).flatten(2).flatten(1)  # (n, p*size*size)
    gathered = flat.gather(2, index[:, None, :].expand(n, c, -1).to(level.device))  # (n, c, p*size*size)
    return gathered.view(n, c, per_image, size * size).permute(0, 2, 1, 3).reshape(n * per_image, c * size * size)


def _normalise(desc: torch.Tensor, channels: int = 3) -> torch.Tensor:
    """Per-channel zero mean, unit std over all descriptors of one set (ProGAN's finalize_descriptors)."""
    d = desc.view(desc.shape[0], channels, -1)
    mean = d.mean(dim=(0, 2), keepdim=True)
    std = d.std(dim=(0, 2), keepdim=True)
    return ((d - mean) / std).view_as(desc)


def _sort_rows(x: torch.Tensor) -> torch.Tensor:
    """Sort each row. On the CPU numpy's SIMD sort is faster than torch.sort (figures in bench/RESULTS.md),
    and SWD's cost is almost all sorting."""
    if x.device.type == "cpu":
        return torch.from_numpy(np.sort(x.contiguous().numpy(), axis=1))
    return torch.sort(x, dim=1).values


def _sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, repeats: int, dirs: int, rng: torch.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance of the projections."""
    results = []
    for _ in range(repeats):
        directions = torch.randn(a.shape[1], dirs, generator=rng).to(a)
        directions /= directions.norm(dim=0, keepdim=True)
        pa = _sort_rows(directions.T @ a.T)  # (dirs, M): one row of projections per direction
        pb = _sort_rows(directions.T @ b.T)
        results.append((pa - pb).abs().mean().item())
    return sum(results) / len(results)


def swd(fake: torch.Tensor, real: torch.Tensor, patches_per_image: int = 128, patch_size: int = 7,
        repeats: int = 4, dirs_per_repeat: int = 128, seed: int = 0, device: str | torch.device = "cpu") -> dict:
    """SWD x1e3 per pyramid level and averaged. Equal counts of uint8 (N, 3, 64, 64) images."""
    if len(fake) != len(real):
        raise ValueError(f"swd needs equal numbers of images, got {len(fake)} and {len(real)}")
    # Both sets draw patch positions from identically seeded generators: image i of each set is cut at
    # the same places, so a set against itself scores exactly 0 and sampling noise does not favour either.
    pos_a, pos_b = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    directions = torch.Generator().manual_seed(seed + 1)
    levels_a = laplacian_pyramid(fake.to(device).float())
    levels_b = laplacian_pyramid(real.to(device).float())
    out = {}
    for res, la, lb in zip(SWD_LEVELS, levels_a, levels_b):
        da = _normalise(_patches(la, patches_per_image, patch_size, pos_a))
        db = _normalise(_patches(lb, patches_per_image, patch_size, pos_b))
        out[f"swd{res}"] = _sliced_wasserstein(da, db, repeats, dirs_per_repeat, directions) * 1e3
    out["swd_avg"] = sum(out.values()) / len(SWD_LEVELS)
    out["swd_images"] = len(fake)
    return out


# ----------------------------------------------------------------------------- MS-SSIM diversity
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gauss_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    g = torch.outer(g, g)
    return (g / g.sum()).expand(channels, 1, size, size)


def ms_ssim(a: torch.Tensor, b: torch.Tensor, max_val: float = 255.0) -> torch.Tensor:
    """MS-SSIM of image pairs (N, C, H, W) in [0, max_val] -> (N,), as in the ProGAN/TF reference:
    an 11x11 Gaussian window (sigma 1.5) shrunk to the image at coarse scales, 5 scales, 2x2 average
    downsampling. Contrast terms are clamped at 0 so a negative one cannot give NaN."""
    a, b = a.float(), b.float()
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    ssims, css = [], []
    for level in range(len(MSSSIM_WEIGHTS)):
        size = min(11, a.shape[2], a.shape[3])
        window = _gauss_window(size, 1.5 * size / 11, a.shape[1], a)

        def filt(x):
            return F.conv2d(x, window, groups=a.shape[1])  # 'valid'

        mu_a, mu_b = filt(a), filt(b)
        var_a = filt(a * a) - mu_a ** 2
        var_b = filt(b * b) - mu_b ** 2
        cov = filt(a * b) - mu_a * mu_b
        v1, v2 = 2 * cov + c2, var_a + var_b + c2
        ssims.append((((2 * mu_a * mu_b + c1) * v1) / ((mu_a ** 2 + mu_b ** 2 + c1) * v2)).mean(dim=(1, 2, 3)))
        css.append((v1 / v2).mean(dim=(1, 2, 3)))
        if level < len(MSSSIM_WEIGHTS) - 1:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    weights = torch.tensor(MSSSIM_WEIGHTS, dtype=a.dtype, device=a.device)
    cs = torch.stack(css[:-1]).clamp(min=0)  # (scales - 1, N)
    return torch.prod(cs ** weights[:-1, None], dim=0) * ssims[-1].clamp(min=0) ** weights[-1]


def msssim_diversity(images: torch.Tensor, pairs: int = 2000, seed: int = 0, batch: int = 500,
                     device: str | torch.device = "cpu") -> float:
    """Mean MS-SSIM over random pairs of distinct images of one uint8 set (lower = more diverse)."""
    rng = torch.Generator().manual_seed(seed)
    i = torch.randint(len(images), (pairs,), generator=rng)
    j = (i + torch.randint(1, len(images), (pairs,), generator=rng)) % len(images)  # j != i
    total = 0.0
    for start in range(0, pairs, batch):
        a = images[i[start:start + batch]].to(device)
        b = images[j[start:start + batch]].to(device)
        total += ms_ssim(a, b).sum().item()
    return total / pairs


def msssim(fake: torch.Tensor, real: torch.Tensor, pairs: int = 2000, seed: int = 0,
           device: str | torch.device = "cpu", real_reference: float | None = None) -> dict:
    """MS-SSIM diversity of the fakes, and of the real images as the reference (pass a cached
    ``real_reference`` to skip recomputing it)."""
    if real_reference is None:
        real_reference = msssim_diversity(real, pairs, seed, device=device)
    return {"msssim": msssim_diversity(fake, pairs, seed, device=device), "msssim_real": real_reference,
            "msssim_pairs": pairs}


# ----------------------------------------------------------------------------- FID / KID
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")


def inception_weights_path() -> Path:
    return cache_root() / Path(INCEPTION_URL).name


def inception_weights_present() -> Path:
    """The local Inception weights file, or a one-line error naming the command that fetches it."""
    path = inception_weights_path()
    if not path.is_file():
        raise FaceganError(f"FID/KID with Inception features need its weights at {path}, which are not there "
                           "(offline?); fetch them once with: facegan download inception; or pass your own "
                           "feature network")
    return path


def inception_features() -> nn.Module:
    """torchmetrics' Inception-v3 feature extractor (2048-d pool features) from the local weights file.

    Nothing is downloaded here: without the file this is a one-line error naming the command that
    fetches it (``facegan download inception``, which needs the network once).
    """
    path = inception_weights_present()
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3

        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                 feature_extractor_weights_path=str(path))
    except (ImportError, ModuleNotFoundError) as e:
        raise FaceganError(f"Inception features need the torch-fidelity package ({e}); "
                           "pip install torch-fidelity") from None
    except Exception as e:
        raise FaceganError(f"could not load the Inception weights from {path}: {e}") from None
    net.num_features = 2048
    return net


class _Features(nn.Module):
    """Feeds a feature network what it expects: uint8 for Inception, float [-1, 1] otherwise."""

    def __init__(self, net: nn.Module, wants_uint8: bool):
        super().__init__()
        self.net, self.wants_uint8 = net, wants_uint8
        self.num_features = int(getattr(net, "num_features"))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images if self.wants_uint8 else images.float() / 127.5 - 1
        return self.net(x).reshape(images.shape[0], -1)


class _Passthrough(nn.Module):
    """Features in, features out: lets torchmetrics accumulate features computed elsewhere."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def _feature_module(feature: nn.Module | None) -> nn.Module:
    if feature is None:
        return _Features(inception_features(), wants_uint8=True)
    if not isinstance(getattr(feature, "num_features", None), int):
        raise FaceganError("a custom feature network needs an int attribute num_features (its output size)")
    return _Features(feature, wants_uint8=False)


def fid_kid(fake: torch.Tensor, real: torch.Tensor, feature: nn.Module | None = None, batch: int = 250,
            kid_subset_size: int = 1000, device: str | torch.device = "cpu") -> dict:
    """FID and KID (torchmetrics) between two uint8 image sets on ``feature``'s outputs."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    net = _feature_module(feature).to(device).eval()
    subset = min(kid_subset_size, len(fake), len(real))
    # Both metrics read the same features: extract them once and hand them over through an identity.
    passthrough = _Passthrough(net.num_features)
    with warnings.catch_warnings():  # KID's notice that it keeps all features: expected, by design
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        metrics = [FrechetInceptionDistance(feature=passthrough).to(device),
                   KernelInceptionDistance(feature=passthrough, subset_size=subset, subsets=50).to(device)]
    with torch.no_grad():
        for images, is_real in ((real, True), (fake, False)):
            for chunk in images.split(batch):
                features = net(chunk.to(device))  # (B, num_features)
                for metric in metrics:
                    metric.update(features, real=is_real)
    fid = metrics[0].compute().item()
    kid_mean, kid_std = (v.item() for v in metrics[1].compute())
    return {"fid": fid, "kid": kid_mean, "kid_std": kid_std, "fid_images": len(fake)}
