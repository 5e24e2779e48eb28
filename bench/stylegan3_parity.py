"""facegan's StyleGAN3 against NVIDIA's own stylegan3 code, with the same weights; and the test fixtures.

    python bench/stylegan3_parity.py PATH [--json FILE.jsonl] [--write-fixtures tests/fixtures/stylegan3]

PATH is a checkout of https://github.com/NVlabs/stylegan3, or a bare clone / git directory of it (its HEAD
is extracted to a temporary folder). NVIDIA's code is imported from PATH for this comparison only, nothing
of it is copied into facegan (its licence is non-commercial). On a CPU it runs its reference ops
(``_filtered_lrelu_ref``, ``_upfirdn2d_ref``, ``_bias_act_ref``); ``pkg_resources`` (which its
conv2d_gradfix imports for a version check, and which recent setuptools no longer ship) is stood in by
``packaging.version``.

For StyleGAN3-T and -R at 16 and 32 px (tiny widths) the script builds NVIDIA's ``Generator``, moves every
parameter and buffer that starts at a trivial value (biases, the input affine's zero weights, the magnitude
EMAs, ``w_avg``), loads its state dict into facegan's with ``strict=True`` and reports the largest absolute
difference of ws and images (eval, ``force_fp32=True``) at psi 1 and 0.7, and with a user transform
(rotation + translation, built as NVIDIA's gen_images.py builds it); that facegan's filter design equals the
buffers; and a control (one bias moved by 1e-3 must show). Then each network is pickled as a training
snapshot by NVIDIA's own persistence (protocols 2, 3 and 4), imported by ``facegan import stylegan3`` and
compared, plus a plain ``pickle.load`` with NVIDIA's code as the control that the file is the real format.
The same is done for the StyleGAN2 of the stylegan3 repository (``networks_stylegan2.py``: flat synthesis
arguments, ``fused_modconv_default='inference_only'``) through ``facegan import stylegan2``.

``--write-fixtures DIR`` writes the tests' fixtures there: small snapshots pickled by NVIDIA's persistence
with numpy 1's module names (``numpy.core.multiarray``, as NVIDIA's released pickles have them; numpy 2
writes ``numpy._core``) and, so that no NVIDIA source is redistributed, ``module_src`` replaced by a
one-line placeholder of the same kind (facegan never reads it); and ``reference.safetensors`` with the z,
ws and images NVIDIA's code computes for them.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import pickle
import sys
import tempfile
import types
from pathlib import Path

import lib  # first: this checkout's facegan
import numpy as np
import torch

from facegan.models.stylegan3.networks import Generator as StyleGAN3, image_transform

BATCH = 3
Z_DIM, W_DIM = 16, 16
CONFIGS = [  # (name, resolution, NVIDIA's Generator keyword arguments beyond the common ones)
    ("T16", 16, dict(channel_base=256, channel_max=16, num_layers=4)),
    ("R16", 16, dict(channel_base=512, channel_max=32, num_layers=4, conv_kernel=1, use_radial_filters=True)),
    ("T32", 32, dict(channel_base=512, channel_max=32, num_layers=6, magnitude_ema_beta=0.99)),
    ("R32", 32, dict(channel_base=512, channel_max=32, num_layers=6, conv_kernel=1, use_radial_filters=True,
                     conv_clamp=None)),
]
TRANSFORM = dict(rotate=30.0, translate=(0.1, -0.2))
PLACEHOLDER_SRC = "# NVIDIA's module source, replaced by facegan's fixture script (facegan never reads it)\n"


def stand_in_pkg_resources() -> None:
    from packaging.version import Version
    module = types.ModuleType("pkg_resources")
    module.parse_version = Version
    sys.modules.setdefault("pkg_resources", module)


def randomise(G: torch.nn.Module, seed: int) -> None:
    """Non-trivial values where NVIDIA's init is trivial, so every path of the math is exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(G.named_parameters()) + list(G.named_buffers()):
            if name.endswith(("bias", "w_avg")) or name.endswith("input.affine.weight"):
                t.add_(0.3 * torch.randn(t.shape, generator=g))
            elif name.endswith("magnitude_ema"):
                t.mul_(torch.rand((), generator=g) + 0.5)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def official_sg3(networks, resolution: int, kwargs: dict, seed: int = 0):
    torch.manual_seed(seed)
    G = networks.Generator(z_dim=Z_DIM, c_dim=0, w_dim=W_DIM, img_resolution=resolution, img_channels=3,
                           num_fp16_res=0 if seed == 0 else 2, **kwargs)
    randomise(G, seed + 1)
    return G.eval().requires_grad_(False)


def nvidia_images(G, z: torch.Tensor, psi: float, transform: dict | None = None) -> torch.Tensor:
    c = torch.zeros(len(z), 0)
    if transform is None:
        return G(z, c, truncation_psi=psi, noise_mode="const", force_fp32=True)
    before = G.synthesis.input.transform.clone()
    G.synthesis.input.transform.copy_(image_transform(**transform))  # == inv(gen_images.make_transform)
    try:
        return G(z, c, truncation_psi=psi, noise_mode="const", force_fp32=True)
    finally:
        G.synthesis.input.transform.copy_(before)


def facegan_images(G, z: torch.Tensor, psi: float, transform: dict | None = None) -> torch.Tensor:
    if transform is None:
        return G(z, truncation_psi=psi)
    with G.transformed(**transform):
        return G(z, truncation_psi=psi)


def check_transform_matches_gen_images(checkout: Path) -> float:
    """facegan's image_transform against NVIDIA's gen_images.make_transform, inverted as gen_images does."""
    source = (checkout / "gen_images.py").read_text()
    start = source.index("def make_transform")
    namespace = {"np": np, "Tuple": tuple}
    exec(source[start:source.index("\n#---", start)], namespace)  # NVIDIA's function alone, from the checkout
    theirs = torch.from_numpy(np.linalg.inv(namespace["make_transform"](TRANSFORM["translate"], TRANSFORM["rotate"])))
    return max_diff(theirs.float(), image_transform(**TRANSFORM))


def compare_networks(networks, resolution: int, kwargs: dict) -> dict[str, float]:
    G_off = official_sg3(networks, resolution, kwargs)
    G = StyleGAN3(Z_DIM, W_DIM, resolution, 3, **kwargs).eval()
    G.exact = True  # NVIDIA's reference ops, op for op
    design = {n: t.clone() for n, t in G.state_dict().items() if n.endswith("_filter")}
    G.load_state_dict(G_off.state_dict(), strict=True)
    out = {"filter design vs buffers": max(max_diff(design[n], t) for n, t in G.state_dict().items() if n in design)}
    z = torch.randn(BATCH, Z_DIM, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for psi in (1.0, 0.7):
            out[f"ws psi {psi}"] = max_diff(G_off.mapping(z, None, truncation_psi=psi), G.mapping(z, psi))
            out[f"images psi {psi}"] = max_diff(nvidia_images(G_off, z, psi), facegan_images(G, z, psi))
        out["images psi 0.7, rotated + translated"] = max_diff(nvidia_images(G_off, z, 0.7, TRANSFORM),
                                                               facegan_images(G, z, 0.7, TRANSFORM))
        G.exact = False  # the fast path (drawing's default), against the same NVIDIA images
        out["fast path: images psi 0.7"] = max_diff(nvidia_images(G_off, z, 0.7), facegan_images(G, z, 0.7))
        out["fast path: rotated + translated"] = max_diff(nvidia_images(G_off, z, 0.7, TRANSFORM),
                                                          facegan_images(G, z, 0.7, TRANSFORM))
        G.exact = True
        out["  |image| max"] = nvidia_images(G_off, z, 1.0).abs().max().item()
        getattr(G.synthesis, G.synthesis.layer_names[-1]).bias[0] += 1e-3
        out["  control: one bias + 1e-3"] = max_diff(nvidia_images(G_off, z, 1.0), facegan_images(G, z, 1.0))
    return out


class Numpy1Pickler(pickle._Pickler):
    """The pure-Python pickler, writing numpy 2's ``numpy._core.*`` globals under numpy 1's ``numpy.core.*``
    names, as the pickles NVIDIA released (written with numpy 1) have them."""

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        if not module.startswith("numpy._core"):
            return super().save_global(obj, name)
        module, name = "numpy.core" + module[len("numpy._core"):], name or obj.__qualname__
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)


def snapshot_bytes(G_ema, networks_sg2, protocol: int, numpy1: bool = False, persistence=None) -> bytes:
    """A training snapshot as NVIDIA's training_loop writes it (G, D and G_ema each a copy, no augment pipe
    when ADA is off), pickled by its persistence; with ``persistence`` given, each record's ``module_src`` is
    the placeholder instead of NVIDIA's source."""
    torch.manual_seed(9)
    D = networks_sg2.Discriminator(c_dim=0, img_resolution=G_ema.img_resolution, img_channels=3, channel_base=256,
                                   channel_max=16).eval().requires_grad_(False)
    snapshot = dict(training_set_kwargs=dict(path="~/datasets/ffhqu-16.zip", use_labels=False, max_size=None,
                                             xflip=False, resolution=G_ema.img_resolution),
                    G=copy.deepcopy(G_ema), D=D, G_ema=G_ema, augment_pipe=None)
    buffer = io.BytesIO()
    sources = {cls: cls._orig_module_src for cls in (persistence._decorators if persistence else ())}
    try:
        for cls in sources:
            cls._orig_module_src = PLACEHOLDER_SRC
        (Numpy1Pickler if numpy1 else pickle.Pickler)(buffer, protocol=protocol).dump(snapshot)
    finally:
        for cls, source in sources.items():
            cls._orig_module_src = source
    return buffer.getvalue()


def compare_import(path: Path, kind: str, G_off, scratch: Path, transform: bool = True) -> dict[str, float]:
    from facegan.interop.export import load_generator
    from facegan.interop.importers import import_generator

    exported = load_generator(import_generator(kind, path, scratch / "g.safetensors", half=False)[0], exact=True)
    z = torch.randn(BATCH, Z_DIM, generator=torch.Generator().manual_seed(3))
    out = {}
    with torch.no_grad():
        for psi in (1.0, 0.7):
            want = nvidia_images(G_off, z, psi) if transform else \
                G_off(z, torch.zeros(BATCH, 0), truncation_psi=psi, noise_mode="const", force_fp32=True)
            got = facegan_images(exported, z, psi) if transform else exported(z, truncation_psi=psi, noise_mode="const")
            out[f"export psi {psi}"] = max_diff(want, got)
        control = pickle.loads(path.read_bytes())["G_ema"]  # NVIDIA's loader: runs the pickled source
        c = torch.zeros(BATCH, 0)
        out["  control: NVIDIA's own load"] = max_diff(G_off(z, c, noise_mode="const", force_fp32=True),
                                                      control(z, c, noise_mode="const", force_fp32=True))
    return out


def official_sg2(networks_sg2, resolution: int = 16):
    """The stylegan3 repository's StyleGAN2 with its train.py's settings (flat synthesis arguments)."""
    torch.manual_seed(0)
    G = networks_sg2.Generator(z_dim=Z_DIM, c_dim=0, w_dim=W_DIM, img_resolution=resolution, img_channels=3,
                               mapping_kwargs=dict(num_layers=2), channel_base=256, channel_max=16, num_fp16_res=2,
                               conv_clamp=256, fused_modconv_default="inference_only")
    randomise(G, 5)
    with torch.no_grad():
        for name, t in G.named_buffers():
            if name.endswith("noise_const"):
                t.normal_(generator=torch.Generator().manual_seed(6))
        for name, t in G.named_parameters():
            if name.endswith("noise_strength"):
                t.fill_(0.2)
    return G.eval().requires_grad_(False)


def write_fixtures(folder: Path, networks, networks_sg2, persistence) -> None:
    """Tiny snapshots pickled by NVIDIA's persistence + the reference outputs of NVIDIA's code."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    z = torch.randn(BATCH, Z_DIM, generator=torch.Generator().manual_seed(3))
    reference = {"z": z}
    files = []
    for name, protocols in (("T16", (2, 3, 4)), ("R16", (4,))):
        _, resolution, kwargs = next(c for c in CONFIGS if c[0] == name)
        G = official_sg3(networks, resolution, kwargs, seed=1)  # num_fp16_res 2: recorded, changes nothing on a CPU
        for protocol in protocols:
            files.append(f"stylegan3-{name.lower()}-p{protocol}.pkl")
            (folder / files[-1]).write_bytes(snapshot_bytes(G, networks_sg2, protocol, True, persistence))
        with torch.no_grad():
            reference[f"{name}.w_avg"] = G.mapping.w_avg.clone()
            for psi in (1.0, 0.7):
                reference[f"{name}.ws.psi{psi}"] = G.mapping(z, None, truncation_psi=psi)
                reference[f"{name}.images.psi{psi}"] = nvidia_images(G, z, psi)
            reference[f"{name}.images.psi0.7.transformed"] = nvidia_images(G, z, 0.7, TRANSFORM)
    G2 = official_sg2(networks_sg2)
    files.append("stylegan2-from-stylegan3-repo-p3.pkl")
    (folder / files[-1]).write_bytes(snapshot_bytes(G2, networks_sg2, 3, True, persistence))
    with torch.no_grad():
        for psi in (1.0, 0.7):
            reference[f"SG2.images.psi{psi}"] = G2(z, torch.zeros(BATCH, 0), truncation_psi=psi, noise_mode="const",
                                                   force_fp32=True)
    save_file({k: v.contiguous() for k, v in reference.items()}, str(folder / "reference.safetensors"),
              metadata={"transform": json.dumps(TRANSFORM)})
    for f in files + ["reference.safetensors"]:
        print(f"wrote {folder / f} ({(folder / f).stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, help="NVlabs/stylegan3 checkout or git directory")
    parser.add_argument("--json", type=Path, help="append the figures here (JSON lines, with lib.record's provenance)")
    parser.add_argument("--write-fixtures", type=Path, help="write the tests' fixtures into this folder")
    args = parser.parse_args()
    stand_in_pkg_resources()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        checkout = lib.source_tree(args.path.expanduser(), "training/networks_stylegan3.py", scratch)
        sys.path.insert(0, str(checkout))
        from torch_utils import persistence
        from training import networks_stylegan2, networks_stylegan3

        if args.write_fixtures:
            write_fixtures(args.write_fixtures, networks_stylegan3, networks_stylegan2, persistence)
            return
        results = {"make_transform (gen_images.py) vs image_transform": check_transform_matches_gen_images(checkout)}
        for name, resolution, kwargs in CONFIGS:
            for key, value in compare_networks(networks_stylegan3, resolution, kwargs).items():
                results[f"{name} {key}"] = value
            G_off = official_sg3(networks_stylegan3, resolution, kwargs, seed=1)
            for protocol in (2, 3, 4):
                path = scratch / f"{name}-p{protocol}.pkl"
                path.write_bytes(snapshot_bytes(G_off, networks_stylegan2, protocol, numpy1=protocol == 3))
                for key, value in compare_import(path, "stylegan3", G_off, scratch).items():
                    results[f"{name} import p{protocol} {key}"] = value
        G2 = official_sg2(networks_stylegan2)
        path = scratch / "sg2.pkl"
        path.write_bytes(snapshot_bytes(G2, networks_stylegan2, 4))
        for key, value in compare_import(path, "stylegan2", G2, scratch, transform=False).items():
            results[f"stylegan3 repo's StyleGAN2 import p4 {key}"] = value
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3g}")
    worst = max(v for k, v in results.items() if not k.split(" ", 1)[-1].lstrip().startswith(("|", "control"))
                and "control" not in k and "|image|" not in k)
    print(f"largest difference outside the controls: {worst:.3g} (target <= 1e-4 of the output range)")
    if args.json:
        lib.record(args.json, {"bench": "stylegan3_parity", "results": results, "worst": worst})


if __name__ == "__main__":
    main()
