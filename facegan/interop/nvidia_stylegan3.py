"""NVIDIA's StyleGAN3 network pickles (StyleGAN3-T and -R) -> facegan's StyleGAN3, built from the pickle's
init arguments, with each layer's stored geometry checked against what those arguments give.

The generator is read without running anything from the file (:mod:`facegan.interop.nvidia_pickle`).
:mod:`facegan.models.stylegan3` uses NVIDIA's parameter names, so an official ``G_ema`` maps name for name,
and the result computes what NVIDIA's ``G_ema(z, None, truncation_psi, noise_mode='const',
force_fp32=True)`` computes, up to the order of float operations.
"""
from __future__ import annotations

from pathlib import Path

from facegan.errors import FaceganError
from facegan.interop.foreign_weights import load_state
from facegan.interop.nvidia_generator import G_ARGS, g_ema_record, init_kwargs, is_stylegan3, other_network, plain
from facegan.interop.nvidia_pickle import NumpyArray, PersistentRecord, load_network_pickle, module_state_dict
from facegan.models.stylegan3.networks import SYNTHESIS_DEFAULTS, Generator

# StyleGAN3's (networks_stylegan3.py): its synthesis arguments are passed flat; num_fp16_res changes how
# NVIDIA's code runs on a GPU only.
MAPPING_DEFAULTS = {"num_layers": 2, "lr_multiplier": 0.01, "w_avg_beta": 0.998}
RUNTIME_ONLY = {"num_fp16_res": 4}
# what each layer record stores that facegan derives from the init arguments: compared, so a file whose
# layers were not built by NVIDIA's formulas is refused instead of drawn wrongly
LAYER_FIELDS = ("in_size", "out_size", "up_factor", "down_factor", "padding", "is_torgb", "conv_kernel")


def official_stylegan3_generator(path: str | Path) -> tuple[Generator, dict]:
    """(facegan StyleGAN3 in eval mode, what it was built from) for the ``G_ema`` of a stylegan3 pickle."""
    path = Path(path)
    record = g_ema_record(load_network_pickle(path), path)
    state = module_state_dict(record, f"{path}'s G_ema")
    kwargs = init_kwargs(record, path)
    if not is_stylegan3(state):
        other = other_network(record, state, kwargs)
        raise FaceganError(f"{path} holds {other or 'a StyleGAN2 generator'}, not a StyleGAN3 one"
                           + ("" if other else "; import it with facegan import stylegan2"))
    c_dim = kwargs.get("c_dim") or 0
    if c_dim or "mapping.embed.weight" in state:
        raise FaceganError(f"{path} holds a class-conditional StyleGAN3 (c_dim {c_dim}: it needs a class label as "
                           "well as z); facegan imports unconditional generators")
    G = Generator(**_generator_args(kwargs, path))
    load_state(G, state, path, network="StyleGAN3")
    check_layer_geometry(G, record, path)
    return G.eval(), {"network": "G_ema", "class": record.class_name, "init_kwargs": kwargs,
                      "variant": G.variant}


def _generator_args(kwargs: dict, path: Path) -> dict:
    """facegan StyleGAN3 arguments from NVIDIA's init arguments (synthesis ones flat, as its Generator takes
    them); an argument facegan does not implement is refused."""
    mapping = {**MAPPING_DEFAULTS, **(kwargs.get("mapping_kwargs") or {})}
    synthesis = {k: v for k, v in kwargs.items() if k not in G_ARGS and k not in RUNTIME_ONLY}
    for name, group, known in (("mapping", mapping, MAPPING_DEFAULTS),
                               ("synthesis", synthesis, SYNTHESIS_DEFAULTS)):
        unknown = sorted(set(group) - set(known))
        if unknown:
            raise FaceganError(f"{path}: G_ema was built with the {name} argument {unknown[0]}="
                               f"{group[unknown[0]]!r}, which facegan's StyleGAN3 does not implement")
    try:
        return dict(latent_dim=int(kwargs["z_dim"]), w_dim=int(kwargs["w_dim"]),
                    resolution=int(kwargs["img_resolution"]), channels=int(kwargs["img_channels"]),
                    mapping_layers=int(mapping["num_layers"]), mapping_lr_multiplier=float(mapping["lr_multiplier"]),
                    w_avg_beta=float(mapping["w_avg_beta"]), **synthesis)
    except (KeyError, TypeError, ValueError) as e:
        raise FaceganError(f"{path}: G_ema's init arguments lack or garble {e} (z_dim, w_dim, img_resolution, "
                           "img_channels are needed)") from None


def check_layer_geometry(G: Generator, record: PersistentRecord, path: Path) -> None:
    """Each layer record's stored geometry (sizes, resampling factors, padding) must be what facegan derived
    from the init arguments: the filters' buffers were loaded, the padding is computed."""
    layers = (record.state.get("_modules") or {}).get("synthesis")
    layers = (layers.state.get("_modules") or {}) if isinstance(layers, PersistentRecord) else {}
    for name in G.synthesis.layer_names:
        stored = layers.get(name)
        if not isinstance(stored, PersistentRecord):
            continue  # load_state already required every tensor; a record without fields has nothing to compare
        mine = getattr(G.synthesis, name)
        for field in LAYER_FIELDS:
            if field not in stored.state:
                continue
            theirs, ours = stored.state[field], getattr(mine, field)
            theirs = theirs.array.tolist() if isinstance(theirs, NumpyArray) else plain(theirs)
            ours = [ours, ours] if field.endswith("_size") else ours  # NVIDIA stores [width, height]
            if theirs != ours:
                raise FaceganError(f"{path}: layer {name} stores {field}={theirs!r}, but StyleGAN3's formulas give "
                                   f"{ours!r} for the file's init arguments (not NVIDIA's network, or edited)")
