"""Pre-trained StyleGAN2/3 generators from NVIDIA's pickles and rosinality checkpoints -> facegan exports.

``facegan import stylegan2 ffhq.pkl --out ffhq.safetensors``, ``facegan import stylegan3
stylegan3-t-ffhqu-256x256.pkl`` and ``facegan import rosinality 550000.pt``:
read the generator without running anything from the file (:mod:`facegan.interop.nvidia_pickle` for NVIDIA's
pickles, ``torch.load(weights_only=True)`` for rosinality's), rebuild it as facegan's StyleGAN2 or StyleGAN3
(:mod:`facegan.models.stylegan2` and :mod:`facegan.models.stylegan3` use NVIDIA's parameter names, so an
official ``G_ema`` maps name for name), run one forward pass as a check and write a normal generator export (fp16 by default).

The result computes what NVIDIA's ``G_ema(z, None, truncation_psi, noise_mode='const', force_fp32=True)``
computes (their fp16 layers, used on a GPU, round differently), and for rosinality checkpoints what
``g_ema([z], truncation=psi, truncation_latent=latent_avg, randomize_noise=False)`` computes, up to the
order of float operations.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import re
import zipfile
from pathlib import Path

import torch

from facegan.errors import FaceganError, first_line
from facegan.interop.export import export_generator
from facegan.interop.nvidia_pickle import (NumpyArray, PersistentRecord, check_legacy_torch_file,
                                           load_network_pickle, module_state_dict, sniff)
from facegan.interop.pretrained import IMPORT_KINDS, LICENCES
from facegan.latent import z_to_codes
from facegan.models.stylegan2 import Generator
from facegan.models.stylegan2.layers import block_channels, setup_filter
from facegan.models.stylegan3.networks import SYNTHESIS_DEFAULTS as SG3_SYNTHESIS_DEFAULTS

W_AVG_SAMPLES = 4096  # z samples averaged for w_avg when a file has none (rosinality's mean_latent default)

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
G_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs")
# StyleGAN3's (networks_stylegan3.py): its synthesis arguments are passed flat; num_fp16_res changes how
# NVIDIA's code runs on a GPU only.
SG3_MAPPING_DEFAULTS = {"num_layers": 2, "lr_multiplier": 0.01, "w_avg_beta": 0.998}
SG3_RUNTIME_ONLY = {"num_fp16_res": 4}
# what each layer record stores that facegan derives from the init arguments: compared, so a file whose
# layers were not built by NVIDIA's formulas is refused instead of drawn wrongly
SG3_LAYER_FIELDS = ("in_size", "out_size", "up_factor", "down_factor", "padding", "is_torgb", "conv_kernel")


# ----------------------------------------------------------------------------- NVIDIA's pickles
def official_generator(path: str | Path) -> tuple[Generator, dict]:
    """(facegan StyleGAN2 in eval mode, what it was built from) for the ``G_ema`` of an official pickle."""
    path = Path(path)
    record = _g_ema(load_network_pickle(path), path)
    state = module_state_dict(record, f"{path}'s G_ema")
    init_kwargs = _init_kwargs(record, path)
    other = _other_network(record, state, init_kwargs)
    if other:
        raise FaceganError(f"{path} holds {other}" + ("" if is_stylegan3(state) else
                           "; facegan imports unconditional StyleGAN2 generators (stylegan2-ada-pytorch and "
                           "stylegan3's StyleGAN2 pickles, rosinality checkpoints)"))
    G = Generator(**_generator_args(init_kwargs, path))
    if "mapping.w_avg" not in state:  # w_avg_beta=None: the file tracks no average w; truncation needs one
        _load(G, state, path, missing_ok={"mapping.w_avg"})
        estimate_w_avg(G)
    else:
        _load(G, state, path)
    return G.eval(), {"network": "G_ema", "class": record.class_name, "init_kwargs": init_kwargs}


def _g_ema(data, path: Path) -> PersistentRecord:
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


def _init_kwargs(record: PersistentRecord, path: Path) -> dict:
    """The arguments G_ema was constructed with (persistence records them as _init_args/_init_kwargs)."""
    args, kwargs = record.state.get("_init_args") or (), record.state.get("_init_kwargs")
    if not isinstance(kwargs, dict) or not isinstance(args, tuple) or len(args) > len(G_ARGS):
        raise FaceganError(f"{path}: G_ema has no readable init arguments (_init_kwargs); was it written by "
                           "NVIDIA's stylegan2-ada-pytorch or stylegan3?")
    merged = {**dict(zip(G_ARGS, args)), **kwargs}
    return _plain(merged)


def _plain(value):
    """EasyDicts -> dicts, tuples -> lists (JSON-ready, comparable with the defaults above)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _other_network(record: PersistentRecord, state: dict, kwargs: dict) -> str | None:
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


def is_stylegan3(state: dict) -> bool:
    """Whether a generator's tensors are StyleGAN3's (Fourier-feature input, L<i>_<size>_<channels> layers)."""
    return any(n.startswith("synthesis.input.") or re.match(r"synthesis\.L\d+_\d+_\d+\.", n) for n in state)


def official_stylegan3_generator(path: str | Path):
    """(facegan StyleGAN3 in eval mode, what it was built from) for the ``G_ema`` of a stylegan3 pickle."""
    from facegan.models.stylegan3.networks import Generator as StyleGAN3

    path = Path(path)
    record = _g_ema(load_network_pickle(path), path)
    state = module_state_dict(record, f"{path}'s G_ema")
    init_kwargs = _init_kwargs(record, path)
    if not is_stylegan3(state):
        other = _other_network(record, state, init_kwargs)
        raise FaceganError(f"{path} holds {other or 'a StyleGAN2 generator'}, not a StyleGAN3 one"
                           + ("" if other else "; import it with facegan import stylegan2"))
    c_dim = init_kwargs.get("c_dim") or 0
    if c_dim or "mapping.embed.weight" in state:
        raise FaceganError(f"{path} holds a class-conditional StyleGAN3 (c_dim {c_dim}: it needs a class label as "
                           "well as z); facegan imports unconditional generators")
    G = StyleGAN3(**_stylegan3_args(init_kwargs, path))
    _load(G, state, path, network="StyleGAN3")
    _check_stylegan3_layers(G, record, path)
    return G.eval(), {"network": "G_ema", "class": record.class_name, "init_kwargs": init_kwargs,
                      "variant": G.variant}


def _stylegan3_args(kwargs: dict, path: Path) -> dict:
    """facegan StyleGAN3 arguments from NVIDIA's init arguments (synthesis ones flat, as its Generator takes
    them); an argument facegan does not implement is refused."""
    mapping = {**SG3_MAPPING_DEFAULTS, **(kwargs.get("mapping_kwargs") or {})}
    synthesis = {k: v for k, v in kwargs.items() if k not in G_ARGS and k not in SG3_RUNTIME_ONLY}
    for name, group, known in (("mapping", mapping, SG3_MAPPING_DEFAULTS),
                               ("synthesis", synthesis, SG3_SYNTHESIS_DEFAULTS)):
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


def _check_stylegan3_layers(G, record: PersistentRecord, path: Path) -> None:
    """Each layer record's stored geometry (sizes, resampling factors, padding) must be what facegan derived
    from the init arguments: the filters' buffers were loaded, the padding is computed."""
    layers = (record.state.get("_modules") or {}).get("synthesis")
    layers = (layers.state.get("_modules") or {}) if isinstance(layers, PersistentRecord) else {}
    for name in G.synthesis.layer_names:
        stored = layers.get(name)
        if not isinstance(stored, PersistentRecord):
            continue  # _load already required every tensor; a record without fields has nothing to compare
        mine = getattr(G.synthesis, name)
        for field in SG3_LAYER_FIELDS:
            if field not in stored.state:
                continue
            theirs, ours = stored.state[field], getattr(mine, field)
            theirs = theirs.array.tolist() if isinstance(theirs, NumpyArray) else _plain(theirs)
            ours = [ours, ours] if field.endswith("_size") else ours  # NVIDIA stores [width, height]
            if theirs != ours:
                raise FaceganError(f"{path}: layer {name} stores {field}={theirs!r}, but StyleGAN3's formulas give "
                                   f"{ours!r} for the file's init arguments (not NVIDIA's network, or edited)")


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


def _load(G: torch.nn.Module, state: dict, path: Path, missing_ok: frozenset | set = frozenset(),
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


# ----------------------------------------------------------------------------- rosinality checkpoints
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
    _load(G, state, path, missing_ok={"mapping.w_avg"})
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


# ----------------------------------------------------------------------------- both: check and export
@torch.no_grad()
def check_generator(G: Generator, path: Path, half: bool) -> None:
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
    readers = {"stylegan2": official_generator, "stylegan3": official_stylegan3_generator,
               "rosinality": rosinality_generator}
    if kind not in IMPORT_KINDS:
        raise FaceganError(f"unknown import kind {kind!r}; facegan imports {', '.join(IMPORT_KINDS)}")
    G, info = readers[kind](path)
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
