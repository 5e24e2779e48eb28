"""StyleGAN 1's AdaIN style block (``--style-block adain``, facegan.models.stylegan2.adain): the instance
norm and the layer epilogue against hand computations, its initialisation, a CLI run that exports,
samples, mixes and edits, bitwise resume, the arch round trip, and the droplet signal."""
import math

import pytest
import torch
import torch.nn.functional as F

from facegan.config import build_config
from facegan.editing.mixing import mixing_grid
from facegan.errors import FaceganError
from facegan.evaluation.droplets import droplet_signal, feature_maps, peak_to_mean
from facegan.interop.export import load_generator
from facegan.latent import codes_for_seeds, render, sample
from facegan.models.stylegan2 import Generator, generator_from_meta
from facegan.models.stylegan2.adain import AdaINLayer, AdaINSynthesisNetwork, instance_norm, style_mod
from facegan.models.stylegan2.networks import SynthesisNetwork
from facegan.training import state as ckpt
from facegan.training.loop import resume_config, train


def tiny_adain(resolution: int = 16, **overrides) -> Generator:
    torch.manual_seed(0)
    kwargs = dict(latent_dim=8, w_dim=12, resolution=resolution, channels=3, channel_base=256, channel_max=16,
                  mapping_layers=2, conv_clamp=256, style_block="adain")
    return Generator(**{**kwargs, **overrides})


# ----------------------------------------------------------------------------- the layer's math
def test_instance_norm_is_per_map_zero_mean_unit_rms():
    x = torch.randn(2, 3, 5, 5) * 3 + 1
    out = instance_norm(x)
    for n in range(2):
        for c in range(3):
            m = x[n, c].mean()
            var = ((x[n, c] - m) ** 2).mean()
            assert torch.allclose(out[n, c], (x[n, c] - m) / torch.sqrt(var + 1e-8), atol=1e-6)
    assert torch.allclose(out, F.instance_norm(x, eps=1e-8), atol=1e-6)  # the same as torch's (biased variance)


def test_adain_epilogue_matches_a_hand_computation():
    """conv (gain sqrt 2 / sqrt(fan_in)) -> + noise * weight[c] -> + bias -> lrelu 0.2 -> IN ->
    x * (1 + scale) + bias, styles = w @ (A / sqrt(w_dim)).T + b, scales first."""
    torch.manual_seed(1)
    layer = AdaINLayer(4, 5, w_dim=6, resolution=8)
    with torch.no_grad():
        for p in (layer.noise_strength, layer.bias, layer.affine.bias):
            p.normal_()
    x, w = torch.randn(2, 4, 8, 8), torch.randn(2, 6)
    y = F.conv2d(x, layer.weight * math.sqrt(2) / math.sqrt(4 * 9), padding=1)
    y = y + layer.noise_const * layer.noise_strength.reshape(1, 5, 1, 1) + layer.bias.reshape(1, 5, 1, 1)
    y = torch.where(y >= 0, y, 0.2 * y)
    y = (y - y.mean(dim=[2, 3], keepdim=True)) / torch.sqrt(y.var(dim=[2, 3], unbiased=False, keepdim=True) + 1e-8)
    styles = w @ (layer.affine.weight / math.sqrt(6)).T + layer.affine.bias  # (2, 10)
    expected = y * (1 + styles[:, :5, None, None]) + styles[:, 5:, None, None]
    assert torch.allclose(layer(x, w, noise_mode="const"), expected, atol=1e-5)


def test_upsampling_layer_doubles_the_side():
    layer = AdaINLayer(4, 5, w_dim=6, resolution=16, up=2)
    assert layer(torch.randn(2, 4, 8, 8), torch.randn(2, 6), noise_mode="none").shape == (2, 5, 16, 16)


def test_init_constant_ones_noise_zero_and_style_starts_at_identity():
    G = tiny_adain()
    assert torch.equal(G.synthesis.b4.const, torch.ones(16, 4, 4))
    layers = [m for m in G.synthesis.modules() if isinstance(m, AdaINLayer)]
    assert len(layers) == G.num_ws == 6
    for layer in layers:
        assert torch.equal(layer.noise_strength, torch.zeros(layer.bias.shape[0]))  # per channel, zero
        assert torch.equal(layer.affine.bias, torch.zeros(2 * layer.bias.shape[0]))
    x = torch.randn(3, 16, 4, 4)
    assert torch.equal(style_mod(x, torch.zeros(3, 32)), x)  # x * (1 + 0) + 0
    layer, x, zero_w = G.synthesis.b8.conv1, torch.randn(3, 16, 8, 8), torch.zeros(3, 12)
    pre = F.leaky_relu(F.conv2d(x, layer.weight * layer.weight_gain, padding=1), 0.2)
    assert torch.allclose(layer(x, zero_w, noise_mode="random"), instance_norm(pre), atol=1e-5)


# ----------------------------------------------------------------------------- the generator
def test_adain_generator_api_shapes_truncation_and_mixing():
    G = tiny_adain().eval()
    assert isinstance(G.synthesis, AdaINSynthesisNetwork) and G.num_ws == 2 * 4 - 2
    z = torch.randn(4, 8)
    ws = G.mapping(z, truncation_psi=0.7)
    assert ws.shape == (4, 6, 12) and G.synthesis(ws, noise_mode="const").shape == (4, 3, 16, 16)
    mixed = G.mix_styles(G.mapping(z), G.mapping(torch.randn(4, 8)), 2)
    assert not torch.equal(G.synthesis(mixed), G.synthesis(G.mapping(z)))
    G.train()
    assert G(z).shape == (4, 3, 16, 16)


def test_arch_round_trip_and_old_meta_rebuilds_the_modulated_generator():
    G = tiny_adain()
    meta = G.arch()
    assert meta["style_block"] == "adain"
    rebuilt = generator_from_meta(meta)
    assert rebuilt.arch() == meta and isinstance(rebuilt.synthesis, AdaINSynthesisNetwork)
    rebuilt.load_state_dict(G.state_dict())
    ws = G.mapping(torch.randn(2, 8))
    assert torch.equal(rebuilt.eval().synthesis(ws), G.eval().synthesis(ws))
    old = {k: v for k, v in meta.items() if k != "style_block"}  # an export written before the option
    modulated = generator_from_meta(old)
    assert type(modulated.synthesis) is SynthesisNetwork and "style_block" not in modulated.arch()
    assert "synthesis.b4.conv1.affine.weight" in modulated.state_dict()
    with pytest.raises(FaceganError, match="style_block"):
        tiny_adain(style_block="demodulated")
    with pytest.raises(FaceganError, match="style_block"):
        build_config("paper", {"arch": "stylegan2", "style_block": "demodulated"})


def test_train_from_the_cli_then_sample_mix_and_edit(tmp_path):
    from facegan.cli import main

    assert main(["train", "--preset", "stylegan-cpu", "--style-block", "adain", "--mapping-layers", "8",
                 "--data", "synthetic", "--synthetic-count", "64", "--epochs", "1", "--minutes", "0",
                 "--batch-size", "16", "--resolution", "32", "--device", "cpu", "--no-progress",
                 "--channel-base", "256", "--channel-max", "16", "--w-dim", "16", "--latent-dim", "16",
                 "--grid-size", "4", "--name", "adain", "--runs-dir", str(tmp_path)]) == 0
    run = next(tmp_path.glob("*-adain"))
    G = load_generator(run / "generator.safetensors")
    assert G.arch()["style_block"] == "adain" and G.mapping.num_layers == 8 and G.resolution == 32
    faces = sample(G, 4, seed=3, truncation=0.7)
    assert faces.shape == (4, 3, 32, 32) and torch.isfinite(faces).all()
    assert not torch.allclose(faces, sample(G, 4, seed=3))
    grid, labels = mixing_grid(G, [1, 2], [3, 4], ["coarse", "middle"], truncation=0.7)
    assert grid.shape == ((1 + 2 * 2) * 3, 3, 32, 32) and len(labels) == 5
    codes = codes_for_seeds(G, [5, 6], truncation=0.7)  # (2, w_dim)
    direction = torch.randn(16)
    edited = render(G, codes + 3 * direction / direction.norm())
    assert codes.shape == (2, 16) and edited.shape == (2, 3, 32, 32)
    assert not torch.allclose(edited, render(G, codes))


def test_adain_resume_is_bitwise(tiny_config):
    small = dict(arch="stylegan2", style_block="adain", resolution=16, latent_dim=8, w_dim=8, channel_base=64,
                 channel_max=8, style_mixing=0.9, r1_gamma=1.0, r1_every=2, ema_kimg=0.01)
    straight = train(tiny_config(name="straight", epochs=2, **small), progress=False)
    half = train(tiny_config(name="half", epochs=1, **small), progress=False)
    train(resume_config(half, epochs=2), resume=half, progress=False)
    a, b = ckpt.latest_state(straight), ckpt.latest_state(half)
    assert "synthesis.b4.input.noise_strength" in a["generator"]
    for part in ("generator", "discriminator", "generator_ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"


# ----------------------------------------------------------------------------- droplet probe
def test_peak_to_mean_of_a_hand_made_spike():
    maps = torch.ones(1, 2, 4, 4)
    maps[0, 0, 1, 2] = -9.0  # one spike: peak 9, mean (15 + 9) / 16 = 1.5 -> 6; the flat map gives 1
    assert peak_to_mean({"spike": maps[:, :1], "flat": maps[:, 1:], "both": maps}) == pytest.approx(
        {"spike": 6.0, "flat": 1.0, "both": 3.5})
    assert peak_to_mean({"zeros": torch.zeros(1, 1, 2, 2)}) == {"zeros": 0.0}


@pytest.mark.parametrize("style_block", ["adain", "modulated"])
def test_feature_maps_name_every_layer_and_leave_no_hooks(style_block):
    G = tiny_adain(style_block=style_block).eval()
    ws = G.mapping(torch.randn(2, 8))
    maps = feature_maps(G, ws)
    first = "b4.input" if style_block == "adain" else "b4.conv1"
    assert list(maps)[0] == first and maps["b16.conv1"].shape == (2, 16, 16, 16)
    assert len(maps) == (6 if style_block == "adain" else 5)
    assert not any(m._forward_hooks for m in G.modules())
    signal = droplet_signal(G, ws)
    assert set(signal) == set(maps) and all(v >= 1.0 for v in signal.values())
