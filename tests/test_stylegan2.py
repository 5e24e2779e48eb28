"""StyleGAN2 (facegan.models.stylegan2): its ops against hand-computed or independent formulations,
truncation, style mixing, w_avg, shapes, official names, export round trip, and the R1 penalty.

Bitwise parity with NVIDIA's own implementation is checked outside the suite (it needs that repo):
``python bench/stylegan2_parity.py PATH``.
"""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facegan.config import TrainConfig, build_config
from facegan.errors import FaceganError
from facegan.interop.export import export_generator, load_generator
from facegan.latent import sample
from facegan.models import ARCHITECTURES, build_models
from facegan.models.stylegan2 import Discriminator, Generator, mix_styles, modulated_conv2d
from facegan.models.stylegan2.layers import (block_channels, conv2d_resample, downsample2d, setup_filter, upfirdn2d,
                                             upsample2d)
from facegan.training import state as ckpt
from facegan.training.loop import resume_config, train
from facegan.training.losses import r1_penalty


def tiny_generator(resolution: int = 16, **overrides) -> Generator:
    """A few hundred to a few thousand parameters: channels min(256 // side, 16)."""
    torch.manual_seed(0)
    kwargs = dict(latent_dim=8, w_dim=12, resolution=resolution, channels=3, channel_base=256, channel_max=16,
                  mapping_layers=2, conv_clamp=256)
    return Generator(**{**kwargs, **overrides})


def with_noise(G: Generator) -> Generator:
    """noise_strength starts at 0 (as the official init): give it a value so noise shows in the output."""
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)
    return G


# ----------------------------------------------------------------------------- ops
def explicit_modulated_conv(x, weight, styles, demodulate):
    """One conv2d per sample with W' = W * s (per input channel), W'' = W' / sqrt(sum W'^2 + 1e-8)."""
    out = []
    for n in range(x.shape[0]):
        w = weight * styles[n][None, :, None, None]  # (O, I, k, k)
        if demodulate:
            w = w / (w.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        out.append(F.conv2d(x[n:n + 1], w, padding=weight.shape[-1] // 2))
    return torch.cat(out)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_is_a_per_sample_conv_with_modulated_demodulated_weights(fused, demodulate):
    g = torch.Generator().manual_seed(0)
    x, weight = torch.randn(3, 4, 6, 6, generator=g), torch.randn(5, 4, 3, 3, generator=g)
    styles = torch.rand(3, 4, generator=g) * 2 + 0.1  # different per sample and channel
    got = modulated_conv2d(x, weight, styles, padding=1, demodulate=demodulate, fused_modconv=fused)
    want = explicit_modulated_conv(x, weight, styles, demodulate)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    if demodulate:  # demodulation undoes a global scale of the styles; plain modulation does not
        torch.testing.assert_close(modulated_conv2d(x, weight, 3 * styles, padding=1, fused_modconv=fused), got,
                                   atol=1e-5, rtol=1e-5)


def test_upsampling_modulated_conv_fused_and_unfused_agree():
    """The grouped transposed convolution (per-sample weights reshaped to (N*I, O, k, k)) against one
    shared transposed convolution with modulated inputs and demodulated outputs."""
    g = torch.Generator().manual_seed(1)
    x, weight, styles = torch.randn(3, 4, 5, 5, generator=g), torch.randn(6, 4, 3, 3, generator=g), \
        torch.rand(3, 4, generator=g) + 0.5
    f = setup_filter()
    fused = modulated_conv2d(x, weight, styles, up=2, padding=1, resample_filter=f, flip_weight=False)
    split = modulated_conv2d(x, weight, styles, up=2, padding=1, resample_filter=f, flip_weight=False,
                             fused_modconv=False)
    assert fused.shape == (3, 6, 10, 10)
    torch.testing.assert_close(fused, split, atol=1e-5, rtol=1e-5)


def test_transposed_conv_upsampling_equals_zero_insertion_fir_then_convolution():
    """The official fast path (stride-2 transposed conv, then FIR with gain 4) against its generic
    formulation: zeros inserted, FIR (gain 4), then a true convolution (flipped kernel), same padding."""
    g = torch.Generator().manual_seed(2)
    x, w, f = torch.randn(2, 3, 5, 5, generator=g), torch.randn(4, 3, 3, 3, generator=g), setup_filter()
    got = conv2d_resample(x, w, f, up=2, padding=1, flip_weight=False)
    want = F.conv2d(upfirdn2d(x, f, up=2, padding=[3, 2, 3, 2], gain=4), w.flip([2, 3]))
    assert got.shape == want.shape == (2, 4, 10, 10)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def up1d(v):
    """[1, 3, 3, 1] upsampling by hand: zeros between samples, kernel [1, 3, 3, 1] / 8 times gain 2,
    pads 2 and 1: [a, b] -> [3a/4, (3a + b)/4, (a + 3b)/4, 3b/4]."""
    out = []
    for i, a in enumerate(v):
        prev_ = v[i - 1] if i > 0 else 0.0
        nxt = v[i + 1] if i + 1 < len(v) else 0.0
        out += [(3 * a + prev_) / 4, (3 * a + nxt) / 4]
    return torch.tensor(out)


def down1d(v):
    """[1, 3, 3, 1] / 8 downsampling by hand, pads 1 and 1: [a, b, c, d] -> [(3a + 3b + c)/8, (b + 3c + 3d)/8]."""
    padded = [0.0, *v, 0.0]
    return torch.tensor([(padded[i] + 3 * padded[i + 1] + 3 * padded[i + 2] + padded[i + 3]) / 8
                         for i in range(0, len(v), 2)])


def test_fir_upsampling_matches_a_hand_computed_case():
    assert torch.allclose(up1d([1.0, 2.0]), torch.tensor([0.75, 1.25, 1.75, 1.5]))  # the formula itself
    f = setup_filter()
    taps = torch.tensor([1.0, 3, 3, 1])
    assert f.shape == (4, 4) and torch.allclose(f, torch.outer(taps, taps) / 64)
    # a separable 2-D image u v^T upsamples to up(u) up(v)^T
    u, v = [1.0, 2.0, -1.0], [4.0, -1.0, 0.5]
    x = torch.outer(torch.tensor(u), torch.tensor(v))[None, None]
    torch.testing.assert_close(upsample2d(x, f)[0, 0], torch.outer(up1d(u), up1d(v)))
    # gain 4: a constant stays constant away from the (zero-padded) border
    assert torch.allclose(upsample2d(torch.ones(1, 2, 4, 4), f)[:, :, 1:-1, 1:-1], torch.ones(1, 2, 6, 6))


def test_fir_downsampling_matches_a_hand_computed_case():
    u, v = [1.0, 2.0, -1.0, 3.0], [0.5, 4.0, -2.0, 1.0]
    x = torch.outer(torch.tensor(u), torch.tensor(v))[None, None].repeat(2, 3, 1, 1)
    got = downsample2d(x, setup_filter())
    assert got.shape == (2, 3, 2, 2)
    torch.testing.assert_close(got[1, 2], torch.outer(down1d(u), down1d(v)))


# ----------------------------------------------------------------------------- mapping, truncation, mixing
def test_truncation_psi_and_cutoff():
    G = tiny_generator().eval()
    G.mapping.w_avg.copy_(torch.randn(G.w_dim))
    z = torch.randn(5, G.latent_dim)
    ws = G.mapping(z)
    assert ws.shape == (5, G.num_ws, G.w_dim) == (5, 6, 12)  # num_ws = 2 log2(16) - 2
    assert torch.equal(ws, ws[:, :1].expand_as(ws))  # one w broadcast to every layer
    w_avg = G.mapping.w_avg.expand_as(ws)
    torch.testing.assert_close(G.mapping(z, truncation_psi=0), w_avg)
    assert torch.equal(G.mapping(z, truncation_psi=1), ws)
    half = G.mapping(z, truncation_psi=0.5, truncation_cutoff=2)
    torch.testing.assert_close(half[:, :2], (ws[:, :2] + w_avg[:, :2]) / 2)
    assert torch.equal(half[:, 2:], ws[:, 2:])
    # through G: psi 0 makes every z the same (average) face
    faces = G(z, truncation_psi=0)
    torch.testing.assert_close(faces, faces[:1].expand_as(faces), atol=1e-5, rtol=0)


def test_mix_styles_switches_at_the_crossover_layer():
    G = tiny_generator().eval()
    ws_a, ws_b = G.mapping(torch.randn(2, 8)), G.mapping(torch.randn(2, 8))
    mixed = mix_styles(ws_a, ws_b, 3)
    assert torch.equal(mixed[:, :3], ws_a[:, :3]) and torch.equal(mixed[:, 3:], ws_b[:, 3:])
    assert torch.equal(mix_styles(ws_a, ws_b[:, 0], torch.tensor(3)), mixed)  # one w per sample, tensor crossover
    assert torch.equal(G.mix_styles(ws_a, ws_b, 3), mixed)
    assert torch.equal(mix_styles(ws_a, ws_b, G.num_ws), ws_a) and torch.equal(mix_styles(ws_a, ws_b, 0), ws_b)
    # the coarse layers (before the crossover) are a's: the 4x4 features are a's, the image is not
    block4 = G.synthesis.b4
    feats = lambda ws: block4(None, None, ws[:, :2], noise_mode="const")[0]  # noqa: E731
    assert torch.equal(feats(mixed), feats(ws_a)) and not torch.equal(feats(mixed), feats(ws_b))
    image = G.synthesis(mixed, noise_mode="const")
    assert not torch.allclose(image, G.synthesis(ws_a, noise_mode="const"))


def test_training_style_mixing_uses_the_generator_passed_in():
    """With probability 1: layers from a crossover drawn from the generator on come from a second z."""
    G = tiny_generator(style_mixing=1.0).train()
    z = torch.randn(3, 8)
    ws = G.mapping(z, update_w_avg=False)
    mixed = G.mixing_regularisation(z, ws, torch.Generator().manual_seed(4))
    crossover = torch.randint(1, G.num_ws, (), generator=torch.Generator().manual_seed(4)).item()
    assert torch.equal(mixed[:, :crossover], ws[:, :crossover])
    assert not torch.isclose(mixed[:, crossover:], ws[:, crossover:]).any()
    assert torch.equal(G.mixing_regularisation(z, ws, torch.Generator().manual_seed(4)), mixed)  # reproducible
    G.style_mixing = 0.0  # probability 0: never mixed, whatever is drawn
    assert torch.equal(G.mixing_regularisation(z, ws, torch.Generator().manual_seed(4)), ws)


def test_training_forward_is_reproducible_from_its_rng():
    """Random noise and mixing come from G.rng (or generator=): same state, same images."""
    G = with_noise(tiny_generator(style_mixing=0.9)).train()
    z = torch.randn(4, 8)
    G.rng = torch.Generator().manual_seed(7)
    a = G(z)
    G.rng.manual_seed(7)
    b = G(z)
    c = G(z, rng=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    G.eval()  # eval: const noise, no mixing: deterministic without any generator
    assert torch.equal(G(z), G(z))
    torch.testing.assert_close(G(z[:2]), G(z)[:2], atol=1e-6, rtol=1e-5)  # a face does not depend on its batch
    assert not torch.allclose(G(z, noise_mode="none"), G(z))  # the const noise is used


def test_mapping_statistics_and_w_avg_moves_in_training_mode_only():
    G = tiny_generator(mapping_layers=4)
    z = torch.randn(256, 8)
    G.eval()
    w = G.mapping(z)[:, 0]
    assert torch.isfinite(w).all() and 0.1 < w.std().item() < 10 and w.mean().abs().item() < 1
    torch.testing.assert_close(G.mapping(10 * z)[:, 0], w)  # z is RMS-normalised: its scale does not matter
    assert torch.equal(G.mapping.w_avg, torch.zeros(12))  # eval: untouched
    G.train()
    w_train = G.mapping(z)[:, 0]
    torch.testing.assert_close(G.mapping.w_avg, 0.005 * w_train.mean(0))  # beta 0.995 from zero
    before = G.mapping.w_avg.clone()
    G.mapping(z, update_w_avg=False)  # the style-mixing z does not move it
    assert torch.equal(G.mapping.w_avg, before)


def test_synthesis_splits_ws_per_block_and_sums_upsampled_images():
    """Official w split: b4 takes ws[0:2] (conv1, torgb), b8 ws[1:4] (conv0, conv1, torgb), b16 ws[3:6]:
    each ToRGB shares its w with the next conv0. Skip architecture: img = upsample(img) + torgb(x)."""
    G = tiny_generator(16).eval()
    ws = torch.randn(2, G.num_ws, G.w_dim)  # a different w for every layer
    s = G.synthesis
    x, img = s.b4(None, None, ws[:, 0:2], noise_mode="const")
    x, img = s.b8(x, img, ws[:, 1:4], noise_mode="const")
    assert torch.equal(s.b16(x, img, ws[:, 3:6], noise_mode="const")[1], s(ws, noise_mode="const"))
    with torch.no_grad():  # without b16's own ToRGB, the image is b8's, upsampled
        s.b16.torgb.weight.zero_()
        s.b16.torgb.bias.zero_()
    torch.testing.assert_close(s(ws, noise_mode="const"), upsample2d(img, setup_filter()))


# ----------------------------------------------------------------------------- shapes, names, registry
@pytest.mark.parametrize("resolution, channel_base, channel_max", [(4, 256, 16), (8, 256, 16), (64, 256, 16),
                                                                   (256, 512, 4)])
def test_generator_and_discriminator_shapes(resolution, channel_base, channel_max):
    G = tiny_generator(resolution, channel_base=channel_base, channel_max=channel_max)
    D = Discriminator(resolution, 3, channel_base, channel_max, conv_clamp=256)
    assert G.num_ws == 2 * resolution.bit_length() - 4  # 2 log2(R) - 2
    for mode in (True, False):
        images = G.train(mode)(torch.randn(4, 8))
        assert images.shape == (4, 3, resolution, resolution) and torch.isfinite(images).all()
        assert images.abs().max() < 20  # roughly [-1, 1]: no tanh, but no blow-up either
    logits = D(images)
    assert logits.shape == (4, 1) and torch.isfinite(logits).all()
    assert G(torch.randn(2, 8, 1, 1)).shape == (2, 3, resolution, resolution)  # dcgan-style z accepted


def test_channels_per_resolution_follow_the_official_rule():
    assert block_channels(64, 16384, 512) == {4: 512, 8: 512, 16: 512, 32: 512, 64: 256}  # official 64 px recipe
    assert block_channels(1024, 32768, 512)[1024] == 32  # FFHQ config F
    G = tiny_generator(64, channel_base=512, channel_max=64)
    assert [getattr(G.synthesis, f"b{r}").conv1.weight.shape[0] for r in (4, 8, 16, 32, 64)] == [64, 64, 32, 16, 8]


OFFICIAL_LAYER = ["weight", "bias", "affine.weight", "affine.bias", "noise_strength", "noise_const", "resample_filter"]
OFFICIAL_G16 = (
    ["mapping.w_avg", "mapping.fc0.weight", "mapping.fc0.bias", "mapping.fc1.weight", "mapping.fc1.bias",
     "synthesis.b4.const", "synthesis.b4.resample_filter"]
    + [f"synthesis.b4.conv1.{n}" for n in OFFICIAL_LAYER]
    + [f"synthesis.b4.torgb.{n}" for n in ("weight", "bias", "affine.weight", "affine.bias")]
    + [f"synthesis.b{r}.{name}" for r in (8, 16) for name in
       ["resample_filter", *(f"conv{i}.{n}" for i in (0, 1) for n in OFFICIAL_LAYER),
        "torgb.weight", "torgb.bias", "torgb.affine.weight", "torgb.affine.bias"]])
OFFICIAL_D16 = (
    ["b16.resample_filter", "b16.fromrgb.weight", "b16.fromrgb.bias", "b16.fromrgb.resample_filter"]
    + [f"b{r}.{name}" for r in (16, 8) for name in
       ["conv0.weight", "conv0.bias", "conv0.resample_filter", "conv1.weight", "conv1.bias", "conv1.resample_filter",
        "skip.weight", "skip.resample_filter"]]
    + ["b8.resample_filter", "b4.conv.weight", "b4.conv.bias", "b4.conv.resample_filter", "b4.fc.weight",
       "b4.fc.bias", "b4.out.weight", "b4.out.bias"])


def test_parameter_and_buffer_names_are_the_official_ones():
    G = tiny_generator(16)
    D = Discriminator(16, 3, 256, 16)
    assert sorted(G.state_dict()) == sorted(OFFICIAL_G16)
    assert sorted(D.state_dict()) == sorted(OFFICIAL_D16)
    state = G.state_dict()
    assert state["synthesis.b4.const"].shape == (16, 4, 4)
    assert state["synthesis.b16.conv0.resample_filter"].shape == (4, 4)
    assert state["synthesis.b16.conv0.noise_const"].shape == (16, 16)
    assert state["synthesis.b8.conv0.noise_strength"].shape == ()
    assert state["mapping.fc0.weight"].shape == (12, 8) and state["synthesis.b16.torgb.weight"].shape == (3, 16, 1, 1)
    assert torch.equal(state["synthesis.b8.conv0.affine.bias"], torch.ones(16))  # affine bias starts at 1
    assert D.state_dict()["b4.fc.weight"].shape == (16, 16 * 16)


def test_registry_builds_stylegan2_from_the_config_and_keeps_dcgan_the_default():
    assert "stylegan2" in ARCHITECTURES and TrainConfig().arch == "dcgan"
    cfg = build_config("paper", {"arch": "stylegan2", "latent_dim": 8, "w_dim": 12, "channel_base": 128,
                                 "channel_max": 8, "mapping_layers": 1})
    G, D = build_models(cfg, 1, 8)
    assert G.arch() == {"arch": "stylegan2", "latent_dim": 8, "w_dim": 12, "resolution": 8, "channels": 1,
                        "channel_base": 128, "channel_max": 8, "mapping_layers": 1, "conv_clamp": 256,
                        "style_mixing": 0.9, "mapping_lr_multiplier": 0.01, "w_avg_beta": 0.995}
    assert D(G(torch.randn(4, 8))).shape == (4, 1)
    for bad, message in [({"style_mixing": 1.5}, "style_mixing"), ({"r1_gamma": -1.0}, "r1_gamma"),
                         ({"mapping_layers": 0}, "mapping_layers"), ({"r1_every": 0}, "r1_every")]:
        with pytest.raises(FaceganError, match=message):
            build_config("paper", bad)
    with pytest.raises(FaceganError, match="power-of-two"):
        build_models(cfg, 3, 48)


def test_export_and_load_round_trip_through_the_registry(tmp_path):
    cfg = build_config("paper", {"arch": "stylegan2", "latent_dim": 8, "w_dim": 12, "channel_base": 128,
                                 "channel_max": 8})
    G, _ = build_models(cfg, 3, 16)
    with_noise(G).train()(torch.randn(8, 8))  # a train-mode forward moves w_avg off zero
    path = export_generator(G, tmp_path / "generator.safetensors", cfg.to_dict())
    loaded = load_generator(path)
    assert isinstance(loaded, Generator) and loaded.arch() == G.arch() and not loaded.training
    for k, v in G.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert loaded.mapping.w_avg.abs().sum() > 0
    assert torch.equal(sample(loaded, 4, seed=3), sample(G, 4, seed=3))  # same seed, same faces


def test_sample_truncation_from_the_cli(tmp_path):
    """psi 0 draws the average face for every seed; psi 1 changes nothing; a DCGAN and psi outside
    [0, 1] get one line each."""
    from facegan.cli import main
    from facegan.models.dcgan import Generator as DCGAN

    cfg = build_config("paper", {"arch": "stylegan2", "latent_dim": 8, "w_dim": 12, "channel_base": 128,
                                 "channel_max": 8})
    G, _ = build_models(cfg, 3, 16)
    with_noise(G).train()(torch.randn(8, 8))  # w_avg off zero
    path = export_generator(G, tmp_path / "generator.safetensors", cfg.to_dict())
    G = load_generator(path)
    average = sample(G, 4, seed=3, truncation=0.0)
    assert all(torch.allclose(face, average[0], atol=1e-6) for face in average)
    assert torch.equal(sample(G, 4, seed=3, truncation=1.0), sample(G, 4, seed=3))
    assert not torch.allclose(sample(G, 4, seed=3, truncation=0.7), sample(G, 4, seed=3))
    assert main(["sample", "--generator", str(path), "--n", "4", "--truncation", "0.7", "--device", "cpu",
                 "--out", str(tmp_path / "faces.png")]) == 0 and (tmp_path / "faces.png").is_file()
    dcgan = export_generator(DCGAN(8, 0.125), tmp_path / "dcgan.safetensors")
    assert main(["sample", "--generator", str(dcgan), "--truncation", "0.7", "--device", "cpu",
                 "--out", str(tmp_path / "x.png")]) == 2
    with pytest.raises(FaceganError, match="no w space"):
        sample(load_generator(dcgan), 2, truncation=0.7)
    assert main(["sample", "--generator", str(path), "--truncation", "1.5"]) == 2


def test_the_unchanged_trainer_trains_and_exports_stylegan2(tiny_config):
    """facegan.training.loop knows no architecture: a tiny stylegan2 run trains, moves w_avg, keeps losses
    finite and exports a generator that the registry rebuilds."""
    cfg = tiny_config(arch="stylegan2", resolution=16, latent_dim=8, w_dim=8, channel_base=64, channel_max=8,
                      ema_kimg=0.01)
    run = train(cfg, progress=False)
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 4 and all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in records)
    G = load_generator(run)
    assert isinstance(G, Generator) and G.arch()["arch"] == "stylegan2" and G.resolution == 16
    assert G.mapping.w_avg.abs().sum() > 0  # the EMA copy follows G's w_avg (a buffer)
    assert (run / "samples" / "epoch_001.png").is_file()


def test_stylegan2_resume_is_bitwise_with_style_mixing_noise_and_lazy_r1(tiny_config):
    """Noise and style mixing come from the run's checkpointed stream, R1 runs on its steps: resuming
    lands on the same weights; and R1 does change training."""
    small = dict(arch="stylegan2", resolution=16, latent_dim=8, w_dim=8, channel_base=64, channel_max=8,
                 style_mixing=0.9, r1_gamma=1.0, r1_every=2, ema_kimg=0.01)
    straight = train(tiny_config(name="straight", epochs=2, **small), progress=False)
    half = train(tiny_config(name="half", epochs=1, **small), progress=False)
    train(resume_config(half, epochs=2), resume=half, progress=False)
    a, b = ckpt.latest_state(straight), ckpt.latest_state(half)
    for part in ("generator", "discriminator", "generator_ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    no_r1 = ckpt.latest_state(train(tiny_config(name="no_r1", epochs=2, **{**small, "r1_gamma": 0.0}), progress=False))
    assert not torch.equal(no_r1["discriminator"]["b16.conv0.weight"], a["discriminator"]["b16.conv0.weight"])


# ----------------------------------------------------------------------------- R1
class Linear(nn.Module):
    """D(x) = sum(w * x) per image: input gradient w for every image."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (self.w * x).flatten(1).sum(1, keepdim=True)


def test_r1_penalty_of_a_linear_critic_is_its_squared_norm():
    """||w||^2 = 9 for every image, so 9; differentiable in D's weights: d/dw ||w||^2 = 2w."""
    w = torch.zeros(1, 3, 2, 2)
    w[0, 0, 0, 0], w[0, 2, 1, 0] = 2.0, -5 ** 0.5
    D = Linear(w.clone())
    penalty = r1_penalty(D, torch.randn(5, 3, 2, 2))
    assert penalty.item() == pytest.approx(9.0)
    penalty.backward()
    torch.testing.assert_close(D.w.grad, 2 * w)


def test_r1_penalty_sums_over_pixels_and_averages_over_the_batch():
    """D(x) = sum(x^2) / 2 has input gradient x: R1 = mean_i ||x_i||^2. Image i is filled with i
    (12 pixels): (0 + 12 + 48) / 3 = 20. A mean over pixels would give 5/3; a sum over the batch 60."""
    class Square(nn.Module):
        def forward(self, x):
            return (x ** 2).flatten(1).sum(1) / 2

    real = torch.arange(3.0)[:, None, None, None].expand(3, 3, 2, 2)
    assert r1_penalty(Square(), real).item() == pytest.approx(20.0)
    assert not real.requires_grad  # the caller's tensor is left alone


def test_r1_penalty_through_the_stylegan2_discriminator_has_weight_gradients():
    D = Discriminator(8, 3, 64, 8)
    penalty = r1_penalty(D, torch.randn(4, 3, 8, 8))
    assert penalty.item() > 0
    penalty.backward()  # double backward through FIR downsampling, minibatch std, lrelu
    assert D.b8.conv0.weight.grad.abs().sum() > 0
