"""Shared fixtures: every test gets a private image cache and tiny, fast training configs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from facegan.config import TrainConfig


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Decoded-image caches go to a temp folder shared by the session, never ~/.cache."""
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def tiny_config(tmp_path):
    """A config that trains in about a second on a CPU: 64 synthetic faces, 8-to-64-channel nets."""
    def make(**overrides) -> TrainConfig:
        values = dict(data="synthetic", synthetic_count=64, width=0.125, latent_dim=16, batch_size=16,
                      epochs=1, log_every=2, grid_size=16, device="cpu", runs_dir=str(tmp_path / "runs"),
                      precision="fp32")  # auto would pick bf16 on an AVX-512 BF16 CPU: slower for nets this small
        return TrainConfig(**{**values, **overrides})
    return make


def write_image(path, mode="RGB", size=(64, 64), seed=0, fmt=None):
    """A random-noise image file in the given PIL mode and size."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    img = Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)
    return path


def state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
