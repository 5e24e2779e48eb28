"""facegan's StyleGAN2 against NVIDIA's official stylegan2-ada-pytorch, with the same weights.

    python bench/stylegan2_parity.py PATH [--device cpu|cuda] [--rosinality ROSINALITY_PATH] [--json FILE.jsonl]

PATH is a checkout of https://github.com/NVlabs/stylegan2-ada-pytorch, or a bare clone / git
directory of it (its HEAD is then extracted to a temporary folder). Nothing of NVIDIA's code is
copied into facegan (its licence is non-commercial): it is imported from PATH for this comparison
only. On a CPU the official code runs its reference ops (``_upfirdn2d_ref``, ``_bias_act_ref``); on
CUDA it may build its custom kernels (it falls back to the reference ops, with a warning, if it
cannot).

For tiny configurations (8 to 32 px, with and without conv clamping) the script builds the official
G and D, randomises every parameter and buffer that starts at zero (biases, noise strengths,
``w_avg``), loads the official ``state_dict`` into facegan's modules with ``strict=True`` (so every
name must match) and reports the largest absolute difference of:

- G images in eval mode (fused modulated conv), noise const, with truncation psi 0.7 / cutoff;
- G images in training mode (non-fused path), random noise drawn from the same seed, and ``w_avg`` after it
  (equal up to float rounding: facegan sums the demodulation coefficients in another order);
- G's parameter gradients of a random projection of the images (training mode);
- D logits, the R1 penalty (gradients of D at real images, official loss formula) and D's weight
  gradients of that penalty (double backward);
- a control: G with one bias moved by 1e-3 must differ (so a 0 above means equal, not "not compared").

Then, per configuration, the official import (``facegan import stylegan2``): a training snapshot
``dict(training_set_kwargs, G, D, G_ema, augment_pipe)`` pickled by NVIDIA's own persistence (protocols
3 and 4, as Python 3.7 and 3.8+ write them; fp16 layers and a non-default mapping lr multiplier recorded
in the init arguments) is read by facegan's safe reader and compared with NVIDIA's ``G_ema`` (eval, noise
const, ``force_fp32=True``, psi 1 and 0.7), through the fp32 export and loaded back from it; plus a
plain ``pickle.load`` of the same file with NVIDIA's code (which runs the pickled source) as a control
that the file is the real format.

With ``--rosinality`` (a checkout or git directory of rosinality/stylegan2-pytorch), its ``model.py``
Generator (64 px, channel multiplier 1, with its compiled ``op`` package replaced by plain-PyTorch
equivalents written here: leaky ReLU + bias times sqrt(2), upfirdn2d) is saved as a checkpoint
``{g_ema, latent_avg}``, imported by ``facegan import rosinality``, and compared with rosinality's
``g_ema([z], truncation=psi, truncation_latent=latent_avg, randomize_noise=False)``.
"""
from __future__ import annotations

import argparse
import importlib.util
import pickle
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import lib  # first: this checkout's facegan
import torch

from facegan.models import stylegan2 as sg2
from facegan.models.stylegan2.layers import upfirdn2d as reference_upfirdn2d
from facegan.training.losses import r1_penalty

CONFIGS = [  # (resolution, channel_base, channel_max, w_dim, mapping layers, conv_clamp)
    (8, 256, 32, 32, 2, None),
    (16, 512, 64, 48, 2, 0.5),  # a clamp that bites
    (32, 512, 32, 32, 8, 256),
]
BATCH = 4


def stub_missing(*names: str) -> None:
    """Empty stand-ins for modules the official code imports but this comparison never uses
    (dnnlib.util imports requests for downloads)."""
    for name in names:
        if importlib.util.find_spec(name) is None:
            sys.modules[name] = types.ModuleType(name)


def randomise(module: torch.nn.Module, seed: int) -> None:
    """Non-zero values where the official init has zeros, so biases, noise and w_avg are exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if name.endswith(("bias", "noise_strength", "w_avg")):
                t.copy_(0.3 * torch.randn(t.shape, generator=g))


def max_diff(a: torch.Tensor | None, b: torch.Tensor | None) -> float:
    """Largest absolute difference; two missing gradients are equal, one missing is infinitely far."""
    if a is None or b is None:
        return 0.0 if a is None and b is None else float("inf")
    return (a.double() - b.double()).abs().max().item()


def compare(networks, resolution: int, channel_base: int, channel_max: int, w_dim: int, layers: int,
            clamp, device: torch.device) -> dict[str, float]:
    z_dim = 24
    synthesis_kwargs = dict(channel_base=channel_base, channel_max=channel_max, num_fp16_res=0, conv_clamp=clamp)
    torch.manual_seed(0)
    G_off = networks.Generator(z_dim=z_dim, c_dim=0, w_dim=w_dim, img_resolution=resolution, img_channels=3,
                               mapping_kwargs=dict(num_layers=layers), synthesis_kwargs=synthesis_kwargs).to(device)
    D_off = networks.Discriminator(c_dim=0, img_resolution=resolution, img_channels=3, channel_base=channel_base,
                                   channel_max=channel_max, conv_clamp=clamp).to(device)
    randomise(G_off, 1)
    randomise(D_off, 2)
    G = sg2.Generator(z_dim, w_dim, resolution, 3, channel_base, channel_max, layers, clamp).to(device)
    D = sg2.Discriminator(resolution, 3, channel_base, channel_max, clamp).to(device)
    G.load_state_dict(G_off.state_dict(), strict=True)
    D.load_state_dict(D_off.state_dict(), strict=True)
    z = torch.randn(BATCH, z_dim, generator=torch.Generator().manual_seed(3)).to(device)
    c = torch.zeros(BATCH, 0, device=device)
    out = {}

    # eval: fused modulated conv, const noise, truncation of the first 2 ws
    G_off.eval(), G.eval()
    with torch.no_grad():
        a = G_off(z, c, truncation_psi=0.7, truncation_cutoff=2, noise_mode="const")
        b = G(z, truncation_psi=0.7, truncation_cutoff=2, noise_mode="const")
    out["G eval (const noise, psi 0.7)"] = max_diff(a, b)
    out["  |image| max"] = a.abs().max().item()

    # training mode: non-fused path, random noise from the same global seed, w_avg update
    G_off.train(), G.train()
    torch.manual_seed(5)
    a = G_off(z, c, noise_mode="random")
    torch.manual_seed(5)
    b = G(z, noise_mode="random")
    out["G train (random noise)"] = max_diff(a, b)
    out["w_avg after a train step"] = max_diff(G_off.mapping.w_avg, G.mapping.w_avg)
    projection = torch.randn(a.shape, generator=torch.Generator().manual_seed(6)).to(device)
    (a * projection).sum().backward()
    (b * projection).sum().backward()
    grads_off = dict(G_off.named_parameters())
    out["G parameter gradients"] = max(max_diff(grads_off[n].grad, p.grad) for n, p in G.named_parameters())

    # D logits and R1 at real images
    real = torch.randn(BATCH, 3, resolution, resolution, generator=torch.Generator().manual_seed(7)).to(device)
    out["D logits"] = max_diff(D_off(real, c), D(real))
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D_off(x, c).sum(), x, create_graph=True)
    r1_official, r1 = grad.square().sum([1, 2, 3]).mean(), r1_penalty(D, real)
    out["R1 penalty"] = max_diff(r1_official, r1)
    r1_official.backward()
    r1.backward()  # second order: D's weight gradients of the penalty
    grads_off = dict(D_off.named_parameters())
    out["D parameter gradients of R1"] = max(max_diff(grads_off[n].grad, p.grad) for n, p in D.named_parameters())

    # control: the comparison can fail (one torgb bias moved by 1e-3 must show up)
    G.eval()
    with torch.no_grad():
        getattr(G.synthesis, f"b{resolution}").torgb.bias[0] += 1e-3
        out["  control: one bias + 1e-3"] = max_diff(G_off.eval()(z, c, noise_mode="const"), G(z, noise_mode="const"))
    return out


def compare_pickle(networks, augment, resolution: int, channel_base: int, channel_max: int, w_dim: int,
                   layers: int, clamp, scratch: Path) -> dict[str, float]:
    """An official snapshot pickled by NVIDIA's persistence, imported by facegan, against NVIDIA's G_ema."""
    from facegan.interop.export import load_generator
    from facegan.interop.importers import import_generator
    from facegan.interop.nvidia_stylegan2 import official_generator

    z_dim, lr_mul = 24, 0.05 if layers == 2 else 0.01
    torch.manual_seed(0)
    synthesis_kwargs = dict(channel_base=channel_base, channel_max=channel_max, num_fp16_res=2, conv_clamp=clamp)
    common = dict(c_dim=0, img_resolution=resolution, img_channels=3)
    G = networks.Generator(z_dim=z_dim, w_dim=w_dim, mapping_kwargs=dict(num_layers=layers, lr_multiplier=lr_mul),
                           synthesis_kwargs=synthesis_kwargs, **common)
    D = networks.Discriminator(channel_base=channel_base, channel_max=channel_max, conv_clamp=clamp, **common)
    randomise(G, 1)
    snapshot = dict(training_set_kwargs=dict(path="~/datasets/faces.zip", use_labels=False, max_size=1000,
                                             xflip=True, resolution=resolution),
                    G=G.eval().requires_grad_(False), D=D.eval().requires_grad_(False),
                    G_ema=G, augment_pipe=augment.AugmentPipe(xflip=1, rotate90=1, xint=1, scale=1, rotate=1,
                                                              aniso=1, xfrac=1, brightness=1, contrast=1,
                                                              lumaflip=1, hue=1, saturation=1))
    z = torch.randn(BATCH, z_dim, generator=torch.Generator().manual_seed(3))
    c = torch.zeros(BATCH, 0)
    out = {}
    for protocol in (3, 4):
        path = scratch / f"snapshot-p{protocol}.pkl"
        path.write_bytes(pickle.dumps(snapshot, protocol=protocol))
        imported, _ = official_generator(path)
        exported = load_generator(import_generator("stylegan2", path, scratch / "g.safetensors", half=False)[0])
        with torch.no_grad():
            for psi in (1, 0.7):
                want = G(z, c, truncation_psi=psi, noise_mode="const", force_fp32=True)
                for label, model in ((f"import p{protocol}", imported), (f"  export p{protocol}", exported)):
                    out[f"{label} psi {psi}"] = max_diff(want, model(z, truncation_psi=psi, noise_mode="const"))
            control = pickle.loads(path.read_bytes())["G_ema"]  # NVIDIA's loader: runs the pickled source
            out[f"  control p{protocol}: NVIDIA's own load"] = max_diff(
                G(z, c, noise_mode="const", force_fp32=True), control(z, c, noise_mode="const", force_fp32=True))
    return out


def rosinality_op_package() -> types.ModuleType:
    """Plain-PyTorch stand-ins for rosinality's compiled ``op`` package (what its CPU paths compute)."""
    import torch.nn.functional as F

    def fused_leaky_relu(x, bias=None, negative_slope=0.2, scale=2 ** 0.5):
        if bias is not None:
            x = x + bias.view(1, -1, *[1] * (x.ndim - 2))
        return F.leaky_relu(x, negative_slope) * scale

    class FusedLeakyReLU(torch.nn.Module):
        def __init__(self, channel, bias=True, negative_slope=0.2, scale=2 ** 0.5):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(channel)) if bias else None
            self.negative_slope, self.scale = negative_slope, scale

        def forward(self, x):
            return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)

    def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):  # rosinality: pad (p0, p1) on both axes, kernel pre-scaled
        return reference_upfirdn2d(x, kernel, up=up, down=down, padding=[pad[0], pad[1], pad[0], pad[1]])

    op = types.ModuleType("op")
    op.fused_leaky_relu, op.FusedLeakyReLU, op.upfirdn2d = fused_leaky_relu, FusedLeakyReLU, upfirdn2d
    op.conv2d_gradfix = types.SimpleNamespace(conv2d=F.conv2d, conv_transpose2d=F.conv_transpose2d)
    return op


def compare_rosinality(path: Path, scratch: Path) -> dict[str, float]:
    from facegan.interop.rosinality import rosinality_generator

    folder = scratch / "rosinality"
    folder.mkdir()
    source = path / "model.py" if (path / "model.py").is_file() else None
    text = source.read_text() if source else subprocess.run(["git", f"--git-dir={path}", "show", "HEAD:model.py"],
                                                            check=True, capture_output=True, text=True).stdout
    (folder / "model.py").write_text(text)
    sys.modules["op"] = rosinality_op_package()
    sys.path.insert(0, str(folder))
    import model as rosinality  # noqa: E402  (rosinality's model.py, imported from the scratch folder)

    torch.manual_seed(0)
    g_ema = rosinality.Generator(64, 64, 2, channel_multiplier=1).eval()
    randomise(g_ema, 4)  # biases (activate.bias, to_rgb bias, style biases) and noise strengths
    with torch.no_grad():
        for name, p in g_ema.named_parameters():
            if name.endswith("noise.weight"):
                p.fill_(0.3)
    latent_avg = g_ema.mean_latent(4096)[0].detach()
    torch.save({"g_ema": g_ema.state_dict(), "latent_avg": latent_avg}, scratch / "rosinality.pt")
    G, _ = rosinality_generator(scratch / "rosinality.pt")
    z = torch.randn(BATCH, 64, generator=torch.Generator().manual_seed(3))
    out = {}
    with torch.no_grad():
        for psi in (1, 0.7):
            want, _ = g_ema([z], truncation=psi, truncation_latent=latent_avg, randomize_noise=False)
            out[f"rosinality psi {psi}"] = max_diff(want, G(z, truncation_psi=psi, noise_mode="const"))
        out["  |image| max"] = want.abs().max().item()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("official", type=Path, help="stylegan2-ada-pytorch checkout or git directory")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rosinality", type=Path, help="rosinality/stylegan2-pytorch checkout or git directory")
    parser.add_argument("--json", help="append every difference here (one JSON line, with lib.record's provenance)")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # compare fp32 with fp32
    with tempfile.TemporaryDirectory() as scratch:
        sys.path.insert(0, str(lib.source_tree(args.official.resolve(), "training/networks.py", Path(scratch))))
        stub_missing("requests")
        import training.augment as augment  # noqa: E402  (the official modules)
        import training.networks as networks  # noqa: E402

        worst, table = 0.0, {}
        for config in CONFIGS:
            res, base, cmax, w_dim, layers, clamp = config
            print(f"{res} px, channel_base {base}, channel_max {cmax}, w_dim {w_dim}, {layers} mapping layers, "
                  f"conv_clamp {clamp} ({device}):")
            results = compare(networks, *config, device)
            results.update(compare_pickle(networks, augment, *config, Path(scratch)))
            table[f"{res} px, {base}/{cmax}, w {w_dim}, {layers} layers, clamp {clamp}"] = results
            for name, value in results.items():
                print(f"  {name:<36} {value:.3g}")
                if not name.startswith(" ") or name.startswith(("  export", "  control p")):
                    worst = max(worst, value)
        print(f"largest absolute difference: {worst:.3g}")
        if args.rosinality:
            print("rosinality stylegan2-pytorch, 64 px, channel multiplier 1, 2 mapping layers (cpu):")
            table["rosinality 64 px"] = compare_rosinality(args.rosinality.resolve(), Path(scratch))
            for name, value in table["rosinality 64 px"].items():
                print(f"  {name:<36} {value:.3g}")
    if args.json:
        lib.record(args.json, {"bench": "stylegan2_parity", "device": str(device), "largest_difference": worst,
                               "differences": table}, jsonl=True)


if __name__ == "__main__":
    main()
