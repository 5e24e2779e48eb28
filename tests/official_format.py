"""Test fixtures in the formats of NVIDIA's network pickles and rosinality checkpoints, written from
facegan's own StyleGAN2 (whose parameter names are NVIDIA's). No NVIDIA code is used or committed:
``torch_utils.persistence`` and ``dnnlib.util`` are stand-in modules registered in ``sys.modules`` only
while pickling, and ``module_src`` is a placeholder (or, for hostile files, code that must never run).

The layout is what NVIDIA's persistence writes (torch_utils/persistence.py, read in the mirror):
each network reduces to ``_reconstruct_persistent_obj(meta)``, meta = dict(type='class', version=6,
module_src, class_name, state=obj.__dict__), with ``_init_args`` / ``_init_kwargs`` in the state and
submodules persistent in turn; the file is ``dict(G, D, G_ema, augment_pipe, training_set_kwargs)``.
"""
from __future__ import annotations

import collections
import contextlib
import pickle
import sys
import types

import numpy as np
import torch

from facegan.models.stylegan2 import Discriminator, Generator

PLACEHOLDER_SRC = "# module source placeholder: facegan never reads it\n"


def _stand_in_modules():
    persistence = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # what pickle records: the name; never called by facegan
        raise RuntimeError("test stand-in: unpickling with plain pickle is not what facegan does")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")

    class EasyDict(dict):
        def __getattr__(self, name):
            return self[name]

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util.EasyDict = EasyDict
    torch_utils, dnnlib = types.ModuleType("torch_utils"), types.ModuleType("dnnlib")
    torch_utils.persistence, dnnlib.util = persistence, util
    return {"torch_utils": torch_utils, "torch_utils.persistence": persistence, "dnnlib": dnnlib,
            "dnnlib.util": util}


STAND_INS = _stand_in_modules()
EasyDict = STAND_INS["dnnlib.util"].EasyDict


@contextlib.contextmanager
def nvidia_modules():
    """The stand-in modules in sys.modules while pickling (pickle looks globals up by module and name)."""
    saved = {name: sys.modules.get(name) for name in STAND_INS}
    sys.modules.update(STAND_INS)
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

    def __init__(self, class_name: str, state: dict, module_src: str = PLACEHOLDER_SRC):
        self.meta = dict(type="class", version=6, module_src=module_src, class_name=class_name, state=state)

    def __reduce__(self):
        return STAND_INS["torch_utils.persistence"]._reconstruct_persistent_obj, (self.meta,)


def persistent(module: torch.nn.Module, init_kwargs: dict | None = None, module_src: str = PLACEHOLDER_SRC,
               extra: dict | None = None) -> Persistent:
    """A module as NVIDIA's persistence records it: its __dict__ (parameters, buffers, hooks, attributes),
    submodules recorded the same way, and the init arguments. NVIDIA's FullyConnectedLayer keeps numpy
    numbers among its attributes (stylegan3's weight_gain = lr_multiplier / np.sqrt(in_features)):
    the fixture does too, and a small numeric array, so the numpy paths are exercised."""
    state = {k: v for k, v in module.__dict__.items() if k != "rng"}
    state["_modules"] = collections.OrderedDict(
        (name, persistent(child, module_src=module_src)) for name, child in module._modules.items())
    state["_init_args"], state["_init_kwargs"] = (), EasyDict(init_kwargs or {})
    if type(module).__name__ == "FullyConnectedLayer":
        state["weight_gain"] = np.float64(module.weight_gain)
        state["in_size"] = np.array([module.weight.shape[1], 1], dtype=np.int64)
    state.update(extra or {})
    return Persistent(type(module).__name__, state, module_src)


def official_init_kwargs(G: Generator, **changes) -> EasyDict:
    """G's arguments as stylegan2-ada-pytorch's training loop passes them to training.networks.Generator."""
    kwargs = EasyDict(z_dim=G.latent_dim, c_dim=0, w_dim=G.w_dim, img_resolution=G.resolution, img_channels=G.channels,
                      mapping_kwargs=EasyDict(num_layers=G.mapping_layers),
                      synthesis_kwargs=EasyDict(channel_base=G.channel_base, channel_max=G.channel_max,
                                                num_fp16_res=4, conv_clamp=G.conv_clamp))
    for key, value in changes.items():
        target = kwargs
        for part in key.split(".")[:-1]:
            target = target[part]
        target[key.split(".")[-1]] = value
    return kwargs


def official_snapshot(G: Generator, D: Discriminator | None = None, init_kwargs: dict | None = None,
                      module_src: str = PLACEHOLDER_SRC, g_ema=None) -> dict:
    """What the training loop pickles: dict(G, D, G_ema, augment_pipe, training_set_kwargs)."""
    record = g_ema if g_ema is not None else persistent(G, init_kwargs or official_init_kwargs(G), module_src)
    D = D if D is not None else Discriminator(G.resolution, G.channels, G.channel_base, G.channel_max, G.conv_clamp)
    return dict(G=record, D=persistent(D, {"c_dim": 0, "img_resolution": G.resolution}, module_src), G_ema=record,
                augment_pipe=None,
                training_set_kwargs=EasyDict(class_name="training.dataset.ImageFolderDataset", path="~/faces.zip",
                                             use_labels=False, max_size=70000, xflip=True,
                                             resolution=G.resolution, scale=np.float32(1.0)))


def dumps(obj, protocol: int = 4) -> bytes:
    with nvidia_modules():
        return pickle.dumps(obj, protocol=protocol)


def randomised(G: Generator, seed: int = 1) -> Generator:
    """Non-zero values where the init has zeros (biases, noise strengths, w_avg), as NVIDIA's parity check does."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(G.named_parameters()) + list(G.named_buffers()):
            if name.endswith(("bias", "noise_strength", "w_avg")):
                t.copy_(0.3 * torch.randn(t.shape, generator=g))
    return G.eval()


def rosinality_state(G: Generator) -> dict:
    """G's weights under rosinality stylegan2-pytorch's names and shapes (model.py's Generator), written
    out layer by layer from that file's layout (independently of facegan.interop.rosinality)."""
    sd, out = G.state_dict(), {}
    for i in range(G.mapping_layers):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]

    def styled(src, dst, noise_index):
        out[f"{src}.conv.weight"] = sd[f"{dst}.weight"][None]
        out[f"{src}.conv.modulation.weight"] = sd[f"{dst}.affine.weight"]
        out[f"{src}.conv.modulation.bias"] = sd[f"{dst}.affine.bias"]
        out[f"{src}.noise.weight"] = sd[f"{dst}.noise_strength"].reshape(1)
        out[f"{src}.activate.bias"] = sd[f"{dst}.bias"]
        out[f"noises.noise_{noise_index}"] = sd[f"{dst}.noise_const"][None, None]

    def to_rgb(src, dst):
        out[f"{src}.conv.weight"] = sd[f"{dst}.weight"][None]
        out[f"{src}.conv.modulation.weight"] = sd[f"{dst}.affine.weight"]
        out[f"{src}.conv.modulation.bias"] = sd[f"{dst}.affine.bias"]
        out[f"{src}.bias"] = sd[f"{dst}.bias"].reshape(1, -1, 1, 1)

    styled("conv1", "synthesis.b4.conv1", 0)
    to_rgb("to_rgb1", "synthesis.b4.torgb")
    kernel = torch.tensor([1., 3., 3., 1.])
    kernel = torch.outer(kernel, kernel) / 64 * 4  # make_kernel([1, 3, 3, 1]) * factor ** 2
    for k, res in enumerate(G.synthesis.block_resolutions[1:]):
        styled(f"convs.{2 * k}", f"synthesis.b{res}.conv0", 2 * k + 1)
        styled(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", 2 * k + 2)
        to_rgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb")
        out[f"convs.{2 * k}.conv.blur.kernel"] = kernel.clone()
        out[f"to_rgbs.{k}.upsample.kernel"] = kernel.clone()
    return {k: v.clone() for k, v in out.items()}
