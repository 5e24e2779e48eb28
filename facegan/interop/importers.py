"""``facegan import stylegan2|stylegan3|rosinality FILE``: run that format's reader, check the generator
with one forward pass and write a normal facegan export (fp16 by default).

``facegan import stylegan2 ffhq.pkl --out ffhq.safetensors``, ``facegan import stylegan3
stylegan3-t-ffhqu-256x256.pkl`` and ``facegan import rosinality 550000.pt`` all come here, as does
``facegan download`` for NVIDIA's pre-trained generators. The readers:
:mod:`facegan.interop.nvidia_stylegan2`, :mod:`facegan.interop.nvidia_stylegan3` and
:mod:`facegan.interop.rosinality`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from facegan.errors import FaceganError
from facegan.interop.export import export_generator
from facegan.interop.nvidia_stylegan2 import official_generator
from facegan.interop.nvidia_stylegan3 import official_stylegan3_generator
from facegan.interop.pretrained import IMPORT_KINDS, LICENCES
from facegan.interop.rosinality import rosinality_generator

READERS = {"stylegan2": official_generator, "stylegan3": official_stylegan3_generator,
           "rosinality": rosinality_generator}  # kind -> path -> (facegan generator in eval mode, source info)


@torch.no_grad()
def check_generator(G: torch.nn.Module, path: Path, half: bool) -> None:
    """One forward pass (seed 0, const noise): finite and of the right shape, also from fp16-rounded weights."""
    if half:
        big = [k for k, v in G.state_dict().items() if v.is_floating_point() and not torch.isfinite(v.half()).all()]
        if big:
            raise FaceganError(f"{path}: {big[0]} has values beyond fp16's range; import it with --fp32")
    z = torch.randn(1, G.latent_dim, generator=torch.Generator().manual_seed(0))
    image = G(z, noise_mode="const")
    want = (1, G.channels, G.resolution, G.resolution)
    if tuple(image.shape) != want or not torch.isfinite(image).all():
        raise FaceganError(f"{path}: the imported generator's check failed (output {tuple(image.shape)}, "
                           f"expected {want}, finite: {bool(torch.isfinite(image).all())})")


def import_generator(kind: str, path: str | Path, out: str | Path, half: bool = True,
                     source: dict | None = None) -> tuple[Path, str]:
    """Read ``path`` (``kind`` 'stylegan2' / 'stylegan3': an official pickle; 'rosinality': a rosinality
    checkpoint), check it and write a facegan export to ``out``. Returns (out, a one-line summary)."""
    path, out = Path(path), Path(out)
    if kind not in IMPORT_KINDS:
        raise FaceganError(f"unknown import kind {kind!r}; facegan imports {', '.join(IMPORT_KINDS)}")
    G, info = READERS[kind](path)
    check_generator(G, path, half)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record = {"file": path.name, "sha256": digest, **info, **(source or {})}
    if kind in LICENCES:
        record.setdefault("licence", LICENCES[kind])
    export_generator(G, out, half=half, source=record)
    params = sum(p.numel() for p in G.parameters())
    if kind == "stylegan3":
        layout = (f"StyleGAN3-{G.variant}, {G.synthesis.num_layers} layers, channel_base "
                  f"{G.synthesis_kwargs['channel_base']}, channel_max {G.synthesis_kwargs['channel_max']}")
    else:
        layout = (f"channel_base {G.channel_base}, channel_max {G.channel_max}, conv_clamp {G.conv_clamp}")
    summary = (f"imported {path.name} ({kind}): {G.resolution}x{G.resolution}, z {G.latent_dim}, w {G.w_dim}, "
               f"{G.mapping_layers} mapping layers, {layout}, {params / 1e6:.1f} M parameters -> {out} "
               f"({'fp16' if half else 'fp32'}, {out.stat().st_size / 1e6:.1f} MB)")
    return out, summary
