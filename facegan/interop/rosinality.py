"""rosinality's stylegan2-pytorch checkpoints (``550000.pt``: ``g_ema`` and ``latent_avg``) -> facegan's
StyleGAN2, renamed layer by layer to NVIDIA's names (:func:`rosinality_to_official`).

The file is opened with ``torch.load(weights_only=True)`` after its declared sizes are checked, so nothing
in it runs. The result computes what rosinality's ``g_ema([z], truncation=psi, truncation_latent=latent_avg,
randomize_noise=False)`` computes, up to the order of float operations.
"""
from __future__ import annotations

import argparse
import io
import re
import zipfile
from pathlib import Path

import torch

from facegan.errors import FaceganError, first_line
from facegan.interop.foreign_weights import W_AVG_SAMPLES, estimate_w_avg, load_state
from facegan.interop.nvidia_pickle import check_legacy_torch_file, sniff
from facegan.models.stylegan2 import Generator
from facegan.models.stylegan2.layers import block_channels, setup_filter


def rosinality_generator(path: str | Path) -> tuple[Generator, dict]:
    """(facegan StyleGAN2 in eval mode, what it was built from) for a rosinality stylegan2-pytorch checkpoint."""
    path = Path(path)
    ckpt = _torch_load_weights(path)
    weights, latent_avg = _rosinality_parts(ckpt, path)
    state, args = rosinality_to_official(weights, path)
    G = Generator(**args)
    if latent_avg is not None:
        state["mapping.w_avg"] = latent_avg.reshape(-1)
    own = G.state_dict()
    for name in own:  # FIR filters: facegan's own [1, 3, 3, 1] (rosinality's kernels were checked against it)
        if name.endswith("resample_filter"):
            state[name] = own[name]
    load_state(G, state, path, missing_ok={"mapping.w_avg"})
    note = "latent_avg from the file"
    if latent_avg is None:
        estimate_w_avg(G)
        note = f"no latent_avg in the file: w_avg is the mean w of {W_AVG_SAMPLES} seeded z"
    return G.eval(), {"format": "rosinality stylegan2-pytorch", "w_avg": note}


def _torch_load_weights(path: Path):
    """torch.load(weights_only=True), allowing argparse.Namespace (rosinality's saved ``args``), after
    checking that the sizes the file declares are the bytes it holds (torch allocates them first)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FaceganError(f"{path} not found") from None
    kind = sniff(data)
    if kind == "zip":
        _check_zip_sizes(data, path)
    elif kind == "torch-legacy":
        try:
            check_legacy_torch_file(data, "the file")
        except FaceganError as e:
            raise FaceganError(f"refused to load {path}: {e}") from None
    elif kind == "pickle":
        raise FaceganError(f"{path} is a plain pickle, not a torch.save checkpoint; for NVIDIA's network pickles "
                           "use: facegan import stylegan2")
    else:
        raise FaceganError(f"{path} is not a torch checkpoint (it starts with {data[:8]!r})")
    try:
        with _allow_namespace():
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError (weights_only refusal), RuntimeError (corrupt zip), ...
        raise FaceganError(f"refused to load {path}: not a plain checkpoint of tensors ({type(e).__name__}: "
                           f"{first_line(e)})") from None


def _check_zip_sizes(data: bytes, path: Path) -> None:
    """torch.save archives store their records uncompressed; sizes beyond the file are refused."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as e:
        raise FaceganError(f"{path} is a truncated or corrupt torch.save archive ({e})") from None
    if any(m.compress_type != zipfile.ZIP_STORED for m in members) or sum(m.file_size for m in members) > len(data):
        raise FaceganError(f"refused to load {path}: its archive records declare more data than the file holds")


class _allow_namespace:
    """torch.serialization.safe_globals([argparse.Namespace]) where torch has it (2.5+), else add_safe_globals."""

    def __enter__(self):
        scoped = getattr(torch.serialization, "safe_globals", None)
        self.scope = scoped([argparse.Namespace]) if scoped else None
        if self.scope is not None:
            self.scope.__enter__()
        else:
            torch.serialization.add_safe_globals([argparse.Namespace])

    def __exit__(self, *exc):
        if self.scope is not None:
            self.scope.__exit__(*exc)


def _rosinality_parts(ckpt, path: Path) -> tuple[dict, torch.Tensor | None]:
    if not isinstance(ckpt, dict):
        raise FaceganError(f"{path} holds a {type(ckpt).__name__}, not a rosinality checkpoint (a dict with g_ema)")
    if "g_ema" in ckpt:
        weights, latent_avg = ckpt["g_ema"], ckpt.get("latent_avg")
    elif "style.1.weight" in ckpt:  # g_ema's state dict saved on its own
        weights, latent_avg = ckpt, None
    else:
        keys = ", ".join(map(repr, list(ckpt)[:4]))
        kind = ("a state dict with NVIDIA's StyleGAN2 names" if "mapping.fc0.weight" in ckpt else
                f"a plain state dict of another model (keys {keys})" if ckpt and all(
                    isinstance(v, torch.Tensor) for v in ckpt.values()) else f"a dict with keys {keys}")
        raise FaceganError(f"{path} is {kind}, not a rosinality stylegan2-pytorch checkpoint (no 'g_ema' generator)")
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise FaceganError(f"{path}: g_ema is not a state dict of tensors")
    if latent_avg is not None and (not isinstance(latent_avg, torch.Tensor) or not latent_avg.is_floating_point()):
        raise FaceganError(f"{path}: latent_avg is not a tensor of floats")
    return weights, latent_avg


def rosinality_to_official(weights: dict, path: Path) -> tuple[dict, dict]:
    """(state dict with NVIDIA's names, facegan Generator arguments) from a rosinality g_ema state dict.

    rosinality -> NVIDIA: style.{i+1} -> mapping.fc{i}; input.input (1, C, 4, 4) -> synthesis.b4.const;
    conv1 -> b4.conv1; convs.{2k}, convs.{2k+1} -> b{2^(k+3)}.conv0, conv1; to_rgb1 / to_rgbs.{k} -> torgb;
    a layer's conv.weight (1, O, I, k, k) -> weight (O, I, k, k), conv.modulation -> affine,
    noise.weight (1,) -> noise_strength (), activate.bias -> bias; noises.noise_{j} (1, 1, r, r) -> the j-th
    conv's noise_const (r, r); a ToRGB's bias (1, C, 1, 1) -> (C,). rosinality scales weights by 1/sqrt(fan_in)
    inside the conv: demodulation cancels it, and a ToRGB's 1/sqrt(C_in) is NVIDIA's style gain, so weights
    map as they are. Blur kernels are checked to be [1, 3, 3, 1] (x4 for upsampling) and dropped.
    """
    w = dict(weights)
    out: dict[str, torch.Tensor] = {}

    def take(name: str) -> torch.Tensor:
        if name not in w:
            raise FaceganError(f"{path}: g_ema has no {name}: not a rosinality StyleGAN2 generator (model.py)")
        return w.pop(name)

    n_mlp = len([k for k in w if re.fullmatch(r"style\.\d+\.weight", k)])
    for i in range(n_mlp):
        out[f"mapping.fc{i}.weight"] = take(f"style.{i + 1}.weight")
        out[f"mapping.fc{i}.bias"] = take(f"style.{i + 1}.bias")
    out["synthesis.b4.const"] = take("input.input")[0]
    levels = len([k for k in w if re.fullmatch(r"to_rgbs\.\d+\.bias", k)])
    resolution = 4 * 2 ** levels
    layers = [("conv1", "synthesis.b4.conv1")]
    for k in range(levels):
        block = f"synthesis.b{2 ** (k + 3)}"
        layers += [(f"convs.{2 * k}", f"{block}.conv0"), (f"convs.{2 * k + 1}", f"{block}.conv1")]
    for j, (src, dst) in enumerate(layers):
        out[f"{dst}.weight"] = take(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"], out[f"{dst}.affine.bias"] = take(f"{src}.conv.modulation.weight"), \
            take(f"{src}.conv.modulation.bias")
        out[f"{dst}.noise_strength"] = take(f"{src}.noise.weight").reshape(())
        out[f"{dst}.bias"] = take(f"{src}.activate.bias")
        out[f"{dst}.noise_const"] = take(f"noises.noise_{j}")[0, 0]
    for src, res in [("to_rgb1", 4)] + [(f"to_rgbs.{k}", 2 ** (k + 3)) for k in range(levels)]:
        out[f"synthesis.b{res}.torgb.weight"] = take(f"{src}.conv.weight")[0]
        out[f"synthesis.b{res}.torgb.affine.weight"] = take(f"{src}.conv.modulation.weight")
        out[f"synthesis.b{res}.torgb.affine.bias"] = take(f"{src}.conv.modulation.bias")
        out[f"synthesis.b{res}.torgb.bias"] = take(f"{src}.bias").reshape(-1)
    fir4 = setup_filter() * 4
    for k in range(levels):
        for name in (f"convs.{2 * k}.conv.blur.kernel", f"to_rgbs.{k}.upsample.kernel"):
            kernel = w.pop(name, fir4)
            if kernel.shape != fir4.shape or not torch.allclose(kernel.float(), fir4, atol=1e-6):
                raise FaceganError(f"{path}: {name} is not the [1, 3, 3, 1] blur kernel facegan's StyleGAN2 uses")
    if w:
        raise FaceganError(f"{path}: g_ema has parameters facegan does not know ({', '.join(sorted(w)[:3])}): not a "
                           "rosinality StyleGAN2 generator (model.py; SWAGAN and others differ)")
    if n_mlp == 0:
        raise FaceganError(f"{path}: g_ema has no mapping layers (style.1.weight ...)")
    channels = {4: out["synthesis.b4.const"].shape[0]}
    channels.update({2 ** (k + 3): out[f"synthesis.b{2 ** (k + 3)}.conv0.weight"].shape[0] for k in range(levels)})
    base, cmax = channels[resolution] * resolution, channels[4]
    if block_channels(resolution, base, cmax) != channels:
        raise FaceganError(f"{path}: g_ema's channels {channels} do not follow min(channel_base / side, "
                           "channel_max), which facegan's StyleGAN2 needs")
    style_dim, img_channels = out["mapping.fc0.weight"].shape, out["synthesis.b4.torgb.weight"].shape[0]
    return out, dict(latent_dim=style_dim[1], w_dim=style_dim[0], resolution=resolution, channels=img_channels,
                     channel_base=base, channel_max=cmax, mapping_layers=n_mlp, conv_clamp=None)
