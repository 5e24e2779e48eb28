"""NVIDIA's StyleGAN2 network pickles (stylegan2-ada-pytorch, and stylegan3's StyleGAN2 ones) -> facegan's
StyleGAN2, built from the pickle's init arguments; an argument facegan does not reproduce is refused.

The generator is read without running anything from the file (:mod:`facegan.interop.nvidia_pickle`).
:mod:`facegan.models.stylegan2` uses NVIDIA's parameter names, so an official ``G_ema`` maps name for name,
and the result computes what NVIDIA's ``G_ema(z, None, truncation_psi, noise_mode='const',
force_fp32=True)`` computes (their fp16 layers, used on a GPU, round differently), up to the order of
float operations.
"""
from __future__ import annotations

from pathlib import Path

from facegan.errors import FaceganError
from facegan.interop.foreign_weights import estimate_w_avg, load_state
from facegan.interop.nvidia_generator import G_ARGS, g_ema_record, init_kwargs, is_stylegan3, other_network
from facegan.interop.nvidia_pickle import load_network_pickle, module_state_dict
from facegan.models.stylegan2 import Generator

# Init arguments of NVIDIA's StyleGAN2 Generator that facegan implements, with their official defaults.
# stylegan2-ada-pytorch nests the synthesis ones in synthesis_kwargs; stylegan3's copy passes them flat.
MAPPING_DEFAULTS = {"num_layers": 8, "embed_features": None, "layer_features": None, "activation": "lrelu",
                    "lr_multiplier": 0.01, "w_avg_beta": 0.995}
SYNTHESIS_DEFAULTS = {"channel_base": 32768, "channel_max": 512, "num_fp16_res": 0, "conv_clamp": None,
                      "architecture": "skip", "resample_filter": [1, 3, 3, 1], "use_noise": True,
                      "activation": "lrelu", "fp16_channels_last": False, "fused_modconv_default": True,
                      "kernel_size": 3}
# Values facegan reproduces; num_fp16_res, fp16_channels_last and fused_modconv_default only change how
# NVIDIA's code runs on a GPU, not what it computes.
REQUIRED = {"architecture": "skip", "resample_filter": [1, 3, 3, 1], "use_noise": True, "activation": "lrelu",
            "kernel_size": 3}


def official_generator(path: str | Path) -> tuple[Generator, dict]:
    """(facegan StyleGAN2 in eval mode, what it was built from) for the ``G_ema`` of an official pickle."""
    path = Path(path)
    record = g_ema_record(load_network_pickle(path), path)
    state = module_state_dict(record, f"{path}'s G_ema")
    kwargs = init_kwargs(record, path)
    other = other_network(record, state, kwargs)
    if other:
        raise FaceganError(f"{path} holds {other}" + ("" if is_stylegan3(state) else
                           "; facegan imports unconditional StyleGAN2 generators (stylegan2-ada-pytorch and "
                           "stylegan3's StyleGAN2 pickles, rosinality checkpoints)"))
    G = Generator(**_generator_args(kwargs, path))
    if "mapping.w_avg" not in state:  # w_avg_beta=None: the file tracks no average w; truncation needs one
        load_state(G, state, path, missing_ok={"mapping.w_avg"})
        estimate_w_avg(G)
    else:
        load_state(G, state, path)
    return G.eval(), {"network": "G_ema", "class": record.class_name, "init_kwargs": kwargs}


def _generator_args(kwargs: dict, path: Path) -> dict:
    """facegan Generator arguments from NVIDIA's init arguments; a value facegan does not reproduce is refused."""
    mapping = {**MAPPING_DEFAULTS, **(kwargs.get("mapping_kwargs") or {})}
    synthesis = {**SYNTHESIS_DEFAULTS, **{k: v for k, v in kwargs.items() if k not in G_ARGS},
                 **(kwargs.get("synthesis_kwargs") or {})}
    for name, group, known in (("mapping", mapping, MAPPING_DEFAULTS), ("synthesis", synthesis, SYNTHESIS_DEFAULTS)):
        unknown = sorted(set(group) - set(known))
        if unknown:
            raise FaceganError(f"{path}: G_ema was built with the {name} argument {unknown[0]}="
                               f"{group[unknown[0]]!r}, which facegan's StyleGAN2 does not implement")
    for key, wanted in REQUIRED.items():
        if synthesis[key] != wanted:
            raise FaceganError(f"{path}: G_ema was built with {key}={synthesis[key]!r}; facegan's StyleGAN2 "
                               f"implements {key}={wanted!r} (config F) only")
    if mapping["activation"] != "lrelu":
        raise FaceganError(f"{path}: G_ema's mapping uses activation {mapping['activation']!r}; facegan's is lrelu")
    if mapping["layer_features"] not in (None, kwargs.get("w_dim")):
        raise FaceganError(f"{path}: G_ema's mapping layers are {mapping['layer_features']} wide, not w_dim "
                           f"{kwargs.get('w_dim')}; facegan's mapping keeps w_dim throughout")
    try:
        clamp = synthesis["conv_clamp"]
        return dict(latent_dim=int(kwargs["z_dim"]), w_dim=int(kwargs["w_dim"]),
                    resolution=int(kwargs["img_resolution"]), channels=int(kwargs["img_channels"]),
                    channel_base=int(synthesis["channel_base"]), channel_max=int(synthesis["channel_max"]),
                    mapping_layers=int(mapping["num_layers"]), conv_clamp=None if clamp is None else float(clamp),
                    mapping_lr_multiplier=float(mapping["lr_multiplier"]),
                    w_avg_beta=0.995 if mapping["w_avg_beta"] is None else float(mapping["w_avg_beta"]))
    except (KeyError, TypeError, ValueError) as e:
        raise FaceganError(f"{path}: G_ema's init arguments lack or garble {e} (z_dim, w_dim, img_resolution, "
                           "img_channels are needed)") from None
