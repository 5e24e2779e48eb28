"""Shared fixtures: every test gets a private image cache and tiny, fast training configs."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegan.config import TrainConfig, config_from_flat


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory) -> Iterator[Path]:
    """Module-scoped fixtures run before ``private_cache``: they get this folder, never ~/.cache."""
    folder = tmp_path_factory.mktemp("session-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACEGAN_CACHE", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch) -> Path:
    """Caches (decoded images, metric references, downloads) go to an empty folder of each test's own,
    never ~/.cache: a folder shared by the session would let one test's cache files, or a corrupted
    one, decide what a later test sees. Each test renders its synthetic faces again (64 in 0.3 s)."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("FACEGAN_CACHE", str(folder))
    return folder


@pytest.fixture
def tiny_config(tmp_path):
    """A config that trains in about a second on a CPU: 64 synthetic faces, 8-to-64-channel nets."""
    def make(**overrides) -> TrainConfig:
        values = dict(data="synthetic", synthetic_count=64, width=0.125, latent_dim=16, batch_size=16,
                      epochs=1, log_every=2, grid_size=16, device="cpu", runs_dir=str(tmp_path / "runs"),
                      precision="fp32")  # auto would pick bf16 on an AVX-512 BF16 CPU: slower for nets this small
        return config_from_flat({**values, **overrides}, from_preset=values)  # (width: dcgan only)
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
