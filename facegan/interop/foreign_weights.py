"""Another project's weights copied into the facegan generator an importer built from them, the step every
importer shares: names, shapes and dtypes must match exactly, and w_avg is estimated where a file has none.
"""
from __future__ import annotations

from pathlib import Path

import torch

from facegan.errors import FaceganError
from facegan.latent import z_to_codes
from facegan.models.stylegan2 import Generator

W_AVG_SAMPLES = 4096  # z samples averaged for w_avg when a file has none (rosinality's mean_latent default)


def load_state(G: torch.nn.Module, state: dict, path: Path, missing_ok: frozenset | set = frozenset(),
               network: str = "StyleGAN2") -> None:
    """Copy ``state`` into G; names and shapes must match exactly (a mismatch is named in one line)."""
    own = G.state_dict()
    missing = sorted(set(own) - set(state) - set(missing_ok))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        parts = [f"{label} {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
                 for label, names in (("missing", missing), ("unexpected", unexpected)) if names]
        raise FaceganError(f"{path}: the generator's parameters are not those of a {network} built from its init "
                           f"arguments ({'; '.join(parts)})")
    for name, value in state.items():
        if tuple(value.shape) != tuple(own[name].shape):
            raise FaceganError(f"{path}: {name} has shape {tuple(value.shape)}, facegan's {network} built from the "
                               f"file's init arguments expects {tuple(own[name].shape)}")
        if not value.is_floating_point():
            raise FaceganError(f"{path}: {name} holds {value.dtype} values, not floating point")
    with torch.no_grad():
        for name, value in state.items():
            own[name].copy_(value)


@torch.no_grad()
def estimate_w_avg(G: Generator, samples: int = W_AVG_SAMPLES, seed: int = 0) -> None:
    """Set mapping.w_avg to the mean w of ``samples`` seeded z (the centre truncation pulls towards)."""
    z = torch.randn(samples, G.latent_dim, generator=torch.Generator().manual_seed(seed))
    G.mapping.w_avg.copy_(z_to_codes(G, z).mean(dim=0))  # z_to_codes: (samples, w_dim)
