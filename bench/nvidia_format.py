"""The bench's own writer of NVIDIA-format network pickles (stylegan2-ada-pytorch's persistence layout), from
facegan's StyleGAN2, whose parameter names are NVIDIA's: bench/stylegan2_import.py times the import of a
file of FFHQ's size without downloading one.

Written here rather than imported from tests/ (tests/official_format.py writes the test fixtures, with
hostile variants the bench has no use for): a bench must not depend on the test suite's support code.
No NVIDIA code is used: ``torch_utils.persistence`` and ``dnnlib.util`` are stand-in modules, registered
in ``sys.modules`` only while pickling (pickle records a global by module and name). The layout: each
network reduces to ``_reconstruct_persistent_obj(meta)`` with meta = dict(type='class', version=6,
module_src, class_name, state=obj.__dict__), ``_init_args`` / ``_init_kwargs`` in the state and
submodules recorded the same way; the file is ``dict(G, D, G_ema, augment_pipe, training_set_kwargs)``.
"""
from __future__ import annotations

import collections
import contextlib
import pickle
import sys
import types
from collections.abc import Iterator

import torch

PLACEHOLDER_SRC = "# module source placeholder: facegan never reads it\n"


def _reconstruct_persistent_obj(meta):  # pickle records its name only; never called
    raise RuntimeError("bench stand-in: facegan reads these files with its own allow-list reader")


class EasyDict(dict):
    """dnnlib.util.EasyDict as pickle sees it (a dict subclass by that name)."""


def _stand_ins() -> dict[str, types.ModuleType]:
    persistence, util = types.ModuleType("torch_utils.persistence"), types.ModuleType("dnnlib.util")
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util.EasyDict = EasyDict
    torch_utils, dnnlib = types.ModuleType("torch_utils"), types.ModuleType("dnnlib")
    torch_utils.persistence, dnnlib.util = persistence, util
    return {"torch_utils": torch_utils, "torch_utils.persistence": persistence, "dnnlib": dnnlib, "dnnlib.util": util}


_reconstruct_persistent_obj.__module__, _reconstruct_persistent_obj.__qualname__ = (
    "torch_utils.persistence", "_reconstruct_persistent_obj")
EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"


@contextlib.contextmanager
def nvidia_modules() -> Iterator[None]:
    """The stand-in modules in sys.modules while pickling; whatever was there before afterwards."""
    stand_ins = _stand_ins()
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class Persistent:
    """Pickles as NVIDIA's persistence does: _reconstruct_persistent_obj(meta)."""

    def __init__(self, class_name: str, state: dict):
        self.meta = {"type": "class", "version": 6, "module_src": PLACEHOLDER_SRC, "class_name": class_name,
                     "state": state}

    def __reduce__(self):
        return _reconstruct_persistent_obj, (self.meta,)


def persistent(module: torch.nn.Module, init_kwargs: dict | None = None) -> Persistent:
    """A module as NVIDIA's persistence records it: its __dict__ (parameters, buffers, attributes),
    submodules recorded the same way, and its init arguments."""
    state = {k: v for k, v in module.__dict__.items() if k != "noise_generator"}  # a torch.Generator: not NVIDIA's
    state["_modules"] = collections.OrderedDict((name, persistent(child)) for name, child in module._modules.items())
    state["_init_args"], state["_init_kwargs"] = (), EasyDict(init_kwargs or {})
    return Persistent(type(module).__name__, state)


def init_kwargs(G) -> EasyDict:
    """G's arguments as stylegan2-ada-pytorch's training loop passes them to training.networks.Generator."""
    return EasyDict(z_dim=G.latent_dim, c_dim=0, w_dim=G.w_dim, img_resolution=G.resolution, img_channels=G.channels,
                    mapping_kwargs=EasyDict(num_layers=G.mapping_layers),
                    synthesis_kwargs=EasyDict(channel_base=G.channel_base, channel_max=G.channel_max,
                                              num_fp16_res=4, conv_clamp=G.conv_clamp))


def training_snapshot(G, D, G_ema) -> dict:
    """What NVIDIA's training loop pickles: dict(G, D, G_ema, augment_pipe, training_set_kwargs); G and
    G_ema are separate records (their own weights, as in a real file, so it is as big as one)."""
    return {"G": persistent(G, init_kwargs(G)), "D": persistent(D, {"c_dim": 0, "img_resolution": G.resolution}),
            "G_ema": persistent(G_ema, init_kwargs(G_ema)), "augment_pipe": None,
            "training_set_kwargs": EasyDict(class_name="training.dataset.ImageFolderDataset", path="~/faces.zip",
                                            use_labels=False, max_size=70000, xflip=True, resolution=G.resolution)}


def dumps(obj, protocol: int = 4) -> bytes:
    with nvidia_modules():
        return pickle.dumps(obj, protocol=protocol)
