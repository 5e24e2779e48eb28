"""The droplet signal (StyleGAN2 paper, section 2): how much of a feature map's strength sits in one spot.

An instance norm (StyleGAN 1's AdaIN) divides each map by its own RMS, so a generator can still pass
the strength of a signal past it by creating one strong local spike that dominates the statistics;
the spike shows as a droplet in the images. Per map, peak |x| / mean |x| is 1 for a constant map,
about 4.8 for Gaussian noise on 64x64, and about k with one value at k times an otherwise constant
map. :func:`droplet_signal` reads the maps with :func:`feature_maps`, a probe of both style blocks.
"""
from __future__ import annotations

import torch
from torch import nn

from facegan.models.stylegan2.adain import InstanceNorm
from facegan.models.stylegan2.networks import SynthesisLayer


def feature_maps(generator: nn.Module, ws: torch.Tensor, noise_mode: str = "const") -> dict[str, torch.Tensor]:
    """Each synthesis layer's feature maps (N, C, r, r) for ws (N, num_ws, w_dim), by layer name
    ("b4.input", "b8.conv0", ...): after the leaky ReLU and before any normalisation, so an AdaIN
    layer's instance-norm input and a modulated layer's output (its normalisation is in the weights).
    Forward hooks, removed afterwards; no gradients."""
    found: dict[str, torch.Tensor] = {}

    def keep(name: str, take_input: bool):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            found[name] = (inputs[0] if take_input else output).detach().float()
        return hook

    handles = []
    for name, module in generator.synthesis.named_modules():
        if isinstance(module, SynthesisLayer):
            handles.append(module.register_forward_hook(keep(name, take_input=False)))
        elif isinstance(module, InstanceNorm):
            handles.append(module.register_forward_hook(keep(name.rsplit(".", 1)[0], take_input=True)))
    try:
        with torch.no_grad():
            generator.synthesis(ws, noise_mode=noise_mode)
    finally:
        for handle in handles:
            handle.remove()
    return found


def peak_to_mean(features: dict[str, torch.Tensor], eps: float = 1e-12) -> dict[str, float]:
    """Per layer: the mean over images and channels of max_HW |x| / mean_HW |x| of each feature map.
    features: name -> (N, C, H, W). An all-zero map counts as 0 (eps keeps the division finite)."""
    ratios = {}
    for name, x in features.items():
        magnitude = x.detach().abs().flatten(2).to(torch.float64)  # (N, C, H*W)
        ratio = magnitude.amax(dim=2) / magnitude.mean(dim=2).clamp_min(eps)  # (N, C)
        ratios[name] = float(ratio.mean())
    return ratios


def droplet_signal(generator: torch.nn.Module, ws: torch.Tensor) -> dict[str, float]:
    """peak_to_mean of a style generator's synthesis feature maps for ws (N, num_ws, w_dim), const noise."""
    return peak_to_mean(feature_maps(generator, ws))
