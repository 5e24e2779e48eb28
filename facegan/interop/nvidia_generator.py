"""The generator record in NVIDIA's network pickles, which the StyleGAN2 and StyleGAN3 importers share:
``G_ema``, the arguments it was built with, and which kind of network it is.

:mod:`facegan.interop.nvidia_pickle` turns the pickle into inert records without running anything; this
module reads the generator's record out of the result.
"""
from __future__ import annotations

import re
from pathlib import Path

from facegan.errors import FaceganError
from facegan.interop.nvidia_pickle import PersistentRecord

# The positional init arguments of NVIDIA's Generator, in order (StyleGAN2's and StyleGAN3's alike).
G_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs")


def g_ema_record(data, path: Path) -> PersistentRecord:
    """The ``G_ema`` network record of a loaded network pickle (or the pickle's one network)."""
    if isinstance(data, dict) and "G_ema" in data:
        net = data["G_ema"]
    elif isinstance(data, PersistentRecord):  # a network pickled on its own
        net = data
    elif isinstance(data, dict):
        keys = ", ".join(map(repr, list(data)[:6]))
        raise FaceganError(f"{path} is a pickle of a dict with keys {keys}, but no 'G_ema' network: not an "
                           "official network pickle (stylegan2-ada-pytorch / stylegan3)")
    else:
        raise FaceganError(f"{path} is a pickle of a {type(data).__name__}, not an official network pickle "
                           "(a dict with G, D, G_ema)")
    if not isinstance(net, PersistentRecord):
        raise FaceganError(f"{path}: its G_ema is a {type(net).__name__}, not a network record")
    return net


def init_kwargs(record: PersistentRecord, path: Path) -> dict:
    """The arguments G_ema was constructed with (persistence records them as _init_args/_init_kwargs)."""
    args, kwargs = record.state.get("_init_args") or (), record.state.get("_init_kwargs")
    if not isinstance(kwargs, dict) or not isinstance(args, tuple) or len(args) > len(G_ARGS):
        raise FaceganError(f"{path}: G_ema has no readable init arguments (_init_kwargs); was it written by "
                           "NVIDIA's stylegan2-ada-pytorch or stylegan3?")
    merged = {**dict(zip(G_ARGS, args)), **kwargs}
    return plain(merged)


def plain(value):
    """EasyDicts -> dicts, tuples -> lists (JSON-ready, comparable with the importers' defaults)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def is_stylegan3(state: dict) -> bool:
    """Whether a generator's tensors are StyleGAN3's (Fourier-feature input, L<i>_<size>_<channels> layers)."""
    return any(n.startswith("synthesis.input.") or re.match(r"synthesis\.L\d+_\d+_\d+\.", n) for n in state)


def other_network(record: PersistentRecord, state: dict, kwargs: dict) -> str | None:
    """What the network is when it is not an unconditional StyleGAN2 generator, else None."""
    names = set(state)
    if is_stylegan3(state):
        synthesis = {**kwargs, **(kwargs.get("synthesis_kwargs") or {})}
        variant = "R" if synthesis.get("use_radial_filters") or synthesis.get("conv_kernel") == 1 else "T"
        return (f"a StyleGAN3-{variant} generator (Fourier-feature input, L<i>_<size>_<channels> layers): import "
                "it with facegan import stylegan3")
    if record.class_name != "Generator":
        return f"a {record.class_name} as its G_ema, not a StyleGAN2 Generator"
    c_dim = kwargs.get("c_dim") or 0
    if c_dim or "mapping.embed.weight" in names:
        return f"a class-conditional generator (c_dim {c_dim}: it needs a class label as well as z)"
    return None
