"""Evaluate a generator against real images with the metrics in :mod:`facegan.evaluation.metrics`.

``evaluate`` draws ``n`` seeded fakes, takes ``n`` real images (a seeded random subset), runs the
chosen metrics through the registry (:mod:`facegan.evaluation.registry`: one ``run_<name>`` function
below per metric) and returns one flat dict. The real side's MS-SSIM reference is cached next to the
image cache, keyed by the data's cache key; SWD's real descriptors (a pyramid and a gather) and
FID/KID's real features are recomputed each time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from safetensors.torch import load_file, save_file

from facegan.data.images import to_uint8
from facegan.errors import FaceganError, require_int_at_least
from facegan.evaluation import metrics as M
from facegan.evaluation.registry import DEFAULT_EVAL_SAMPLES, DEFAULT_METRICS, METRICS, parse_metric_names
from facegan.fileio import atomic_path, cache_root
from facegan.latent import generate, sample_latents

SWD_MAX_IMAGES = 2048  # SWD cost grows with images x 128 patches; ProGAN-style figures settle well before
EVAL_SEED = 2024  # fakes are drawn from this seed so evaluations of different runs compare alike


def fake_images(generator: torch.nn.Module, n: int, seed: int = EVAL_SEED) -> torch.Tensor:
    """n generated images as uint8 (n, C, H, W)."""
    return to_uint8(generate(generator, sample_latents(n, generator.latent_dim, seed)))


def real_subset(real: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """n real images drawn without replacement (all of them if there are fewer)."""
    if n >= len(real):
        return real
    return real[torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[:n]]


def _cached_msssim_real(real: torch.Tensor, data_key: str | None, pairs: int, device) -> float:
    if data_key is None:
        return M.msssim_diversity(real, pairs, device=device)
    path = cache_root() / f"ref-{data_key}-msssim-n{len(real)}-p{pairs}.safetensors"
    if path.is_file():
        return load_file(path)["value"].item()
    value = M.msssim_diversity(real, pairs, device=device)
    with atomic_path(path) as tmp:
        save_file({"value": torch.tensor([value], dtype=torch.float64)}, str(tmp))
    return value


def check_face_metrics_apply(channels: int, resolution: int) -> None:
    """SWD (a 3-level Laplacian pyramid of 7x7 patches, per-colour normalisation) and MS-SSIM (5 scales
    of an 11x11 window) are the face metrics: RGB images of at least 32 px. Anything else (digits: 1
    channel, 28 px) gets one line pointing at the digit report instead."""
    if channels != 3 or resolution < 32:
        raise FaceganError(f"SWD, MS-SSIM and FID are facegan's face metrics, for RGB images of at least 32 px; "
                           f"these are {channels}-channel {resolution}x{resolution} images. For digits, measure how "
                           "recognisable they are: facegan digits score --generator G --classifier C")


def check_sample_count(n: int) -> int:
    return require_int_at_least("--n", n, minimum=2)


@dataclass
class Context:
    """What a metric function may need beyond the two image sets."""
    device: torch.device
    stats_device: torch.device | str  # FID statistics: the CPU on MPS (no float64 there)
    data_key: str | None  # the real data's cache key (for cached references), if any
    pairs: int  # MS-SSIM pairs
    feature: torch.nn.Module | None  # FID/KID feature network (None = Inception-v3 from disk)


def run_swd(fake: torch.Tensor, real: torch.Tensor, ctx: Context) -> dict:
    k = min(len(fake), SWD_MAX_IMAGES)
    return M.swd(fake[:k], real_subset(real, k, seed=1), device=ctx.device)


def run_msssim(fake: torch.Tensor, real: torch.Tensor, ctx: Context) -> dict:
    reference = _cached_msssim_real(real, ctx.data_key, ctx.pairs, ctx.device)
    return M.msssim(fake, real, ctx.pairs, device=ctx.device, real_reference=reference)


def run_fid(fake: torch.Tensor, real: torch.Tensor, ctx: Context) -> dict:
    return M.fid_kid(fake, real, feature=ctx.feature, device=ctx.stats_device)


def evaluate(generator: torch.nn.Module, real: torch.Tensor, n: int = DEFAULT_EVAL_SAMPLES,
             metrics=parse_metric_names(DEFAULT_METRICS),
             feature: torch.nn.Module | None = None, data_key: str | None = None,
             device: str | torch.device = "cpu", pairs: int = 2000) -> dict:
    """Run ``metrics`` on n fakes vs n real images; returns {"n": ..., metric values..., "seconds": ...}."""
    parse_metric_names(",".join(metrics))
    check_sample_count(n)
    check_face_metrics_apply(real.shape[1], real.shape[-1])
    device = torch.device(device)
    ctx = Context(device, "cpu" if device.type == "mps" else device, data_key, pairs, feature)
    start = time.perf_counter()
    real = real_subset(real, n)
    n = min(n, len(real))
    fake = fake_images(generator, n)
    result: dict = {"n": n}
    for name in METRICS:  # registry order, whatever order they were asked in
        if name in metrics:
            result.update(METRICS[name].load()(fake, real, ctx))
    result["seconds"] = time.perf_counter() - start
    return result


def format_table(result: dict) -> str:
    """A two-column text table of an evaluate() result."""
    rows = [(k, f"{v:.4f}" if isinstance(v, float) else str(v)) for k, v in result.items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:>12}" for k, v in rows)
