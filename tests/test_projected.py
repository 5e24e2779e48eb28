"""The discriminator axis: a projected discriminator on frozen, genuinely pretrained EfficientNet-Lite0
features, pairing with every generator (alone or beside the native D), resumable bit for bit, refusing bad
configurations and bad weight files in one line; and fine-tuning from an export (--init-generator)."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from facegan.cli import main
from facegan.config import build_config
from facegan.data.synthetic_faces import render_face
from facegan.errors import FaceganError
from facegan.fileio import DEFAULT_GENERATOR, shipped_model
from facegan.interop.export import export_generator, load_generator, read_export
from facegan.models import build_models
from facegan.models.projected.config import ProjectedConfig
from facegan.models.projected.efficientnet_lite import EfficientNetLite0, pretrained_lite0, weights_file
from facegan.models.projected.networks import NativeAndProjected, ProjectedDiscriminator
from facegan.training import state as ckpt
from facegan.training.loop import resume_config, train
from facegan.training.losses import LOSSES


@pytest.fixture(scope="module")
def lite0() -> EfficientNetLite0:
    return pretrained_lite0()


def synthetic_faces(n: int = 16) -> torch.Tensor:
    """(n, 3, 64, 64) built-in procedural faces in [-1, 1]."""
    rng = np.random.default_rng(0)
    faces = [torch.from_numpy(np.array(render_face(rng, 64)[0])).permute(2, 0, 1) for _ in range(n)]
    return torch.stack(faces).float() / 127.5 - 1


def confidence_and_mirror_agreement(net: EfficientNetLite0, x: torch.Tensor) -> tuple[float, float]:
    """Mean top-1 ImageNet probability, and the mean cosine between each image's pooled last features and
    its mirror image's (centred over the batch, so what all images share does not count)."""
    with torch.no_grad():
        top1 = net(x).softmax(1).amax(1).mean().item()
        a, b = net.taps(x)[-1].mean((2, 3)), net.taps(x.flip(3))[-1].mean((2, 3))  # (N, 320) each
        centre = torch.cat([a, b]).mean(0)
        return top1, torch.cosine_similarity(a - centre, b - centre).mean().item()


# ----------------------------------------------------------------------------- the pretrained network
def test_the_installed_weights_are_lite0s_and_really_pretrained(lite0):
    """Every key and shape of the package's file loads strictly into facegan's Lite0 (296 tensors, 4.65 M
    parameters); and two statistics a random network cannot give: a confident ImageNet class for faces
    (a random Lite0 spreads ~0.001 over the 1000 classes) and mirror images with nearly the same features."""
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    assert set(state) == set(EfficientNetLite0().state_dict()) and len(state) == 296
    assert sum(p.numel() for p in lite0.parameters()) == 4_652_008
    x = synthetic_faces()
    top1, mirror = confidence_and_mirror_agreement(lite0, x)
    torch.manual_seed(0)
    random_top1, random_mirror = confidence_and_mirror_agreement(EfficientNetLite0().eval(), x)
    assert top1 > 0.1 and random_top1 < 0.01, (top1, random_top1)
    assert mirror > 0.8 and random_mirror < 0.7, (mirror, random_mirror)  # measured: 0.86 against 0.59-0.63


def test_same_padding_is_tensorflows(lite0):
    """TF "SAME" pads the extra row and column at the bottom and right: a stride-2 3x3 conv on 4x4 reads
    rows 0-2 and 2-3 (+ one padded row), so a pixel at the top-left corner reaches output (0, 0) only."""
    conv = lite0._conv_stem
    x = torch.zeros(1, 3, 4, 4)
    x[0, :, 0, 0] = 1
    out = conv(x)[0, 0]
    assert out.shape == (2, 2) and out[0, 0] != 0 and out[0, 1] == 0 and out[1, 0] == 0


@pytest.mark.parametrize("damage", ["code", "truncated", "wrong keys", "missing"])
def test_a_bad_weights_file_is_refused_in_one_line(tmp_path, damage):
    path = tmp_path / "lite0.pth"
    if damage == "code":
        with open(path, "wb") as f:  # a pickle that would call a function when loaded
            pickle.dump(type("Evil", (), {"__reduce__": lambda self: (print, ("ran",))})(), f, protocol=2)
    elif damage == "truncated":
        path.write_bytes(weights_file().read_bytes()[:100_000])
    elif damage == "wrong keys":
        torch.save({"conv.weight": torch.zeros(3)}, path)
    with pytest.raises(FaceganError) as e:
        pretrained_lite0(path)
    assert "\n" not in str(e.value) and "pip install" in str(e.value)


# ----------------------------------------------------------------------------- the discriminator
def test_projected_d_scores_patches_at_each_scale_and_only_its_heads_learn(lite0):
    D = ProjectedDiscriminator(ProjectedConfig(), 3, features=lite0)
    x = torch.randn(4, 3, 64, 64, requires_grad=True)
    logits = D(x)
    assert logits.shape == (4, 3 * 16)  # three scales of 4x4 patches
    logits.sum().backward()
    assert x.grad.abs().sum() > 0  # G learns through the frozen features
    assert all(p.grad is not None for p in D.parameters())
    state = D.state_dict()
    assert not any(k.startswith("features") for k in state)  # the 18.8 MB network is not in checkpoints
    assert {"mixing.ccm0_weight", "mixing.csm0_weight", "mixing.ccm2_weight"} <= set(state)  # the fixed mixing is
    assert not any(name.startswith("mixing") for name, _ in D.named_parameters())  # fixed: buffers, never trained
    D.requires_grad_(True).train()  # what g_step does after G's step, and the trainer at every epoch
    assert not any(p.requires_grad for p in D.features.parameters()) and not D.features.training
    assert ProjectedDiscriminator(ProjectedConfig(proj_scales=4, proj_side=128), 1, features=lite0)(
        torch.randn(2, 1, 32, 32)).shape == (2, 4 * 16)  # grayscale, resized up to 128
    own = ProjectedDiscriminator(ProjectedConfig(), 3)
    assert own.to(torch.float64).features._conv_stem.weight.dtype == torch.float64  # moves with D


def test_native_and_projected_weigh_the_same_in_the_loss(lite0):
    cfg = build_config("stylegan-cpu", {"disc": "native+projected", "resolution": 16, "channel_base": 64})
    G, D = build_models(cfg, 3, 16)
    assert isinstance(D, NativeAndProjected)
    logits = D(torch.randn(4, 3, 16, 16))
    k = logits.shape[1] // 2
    assert torch.equal(logits[:, :k], logits[:, :1].expand(-1, k))  # the native logit, repeated
    d_loss, g_loss = LOSSES["hinge"]
    real, fake = torch.tensor([[2.0, 0.5]]), torch.tensor([[-2.0, 0.0]])
    assert d_loss(real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)  # relu(1 - x), relu(1 + x)
    assert g_loss(fake).item() == pytest.approx(1.0)


@pytest.mark.parametrize("values, message", [
    ({"proj_scales": 5}, "proj_scales must be 1 to 4"),
    ({"proj_side": 16}, "proj_side must be at least 32"),
    ({"disc": "projected", "arch": "progan", "grow_from": 4}, "does not grow"),
    ({"disc": "clip"}, r"disc must be one of native, projected, native\+projected"),
])
def test_bad_discriminator_settings_are_one_line(values, message):
    with pytest.raises(FaceganError, match=message) as e:
        build_config("quick", values)
    assert "\n" not in str(e.value)


def test_the_cli_takes_disc_flags_and_refuses_bad_ones_in_one_line(capsys):
    assert main(["train", "--disc", "projected", "--proj-scales", "7"]) == 2
    err = capsys.readouterr().err.strip()
    assert "proj_scales must be 1 to 4" in err and "\n" not in err
    assert main(["train", "--init-generator", "no-such-model", "--disc", "projected"]) == 2
    err = capsys.readouterr().err.strip()
    assert "generator file no-such-model not found" in err and "\n" not in err


# ----------------------------------------------------------------------------- training with it
@pytest.mark.parametrize("disc", ["projected", "native+projected"])
def test_training_with_a_projected_d_resumes_bitwise_and_the_export_says_which_d(tiny_config, disc):
    small = dict(disc=disc, loss="hinge", augment="translation,cutout", ema_kimg=0.05, proj_channels=8,
                 proj_head_channels=8, batch_size=8, synthetic_count=32)
    straight = train(tiny_config(name="straight", epochs=2, **small), progress=False)
    half = train(tiny_config(name="half", epochs=1, **small), progress=False)
    train(resume_config(half, epochs=2), resume=half, progress=False)
    a, b = ckpt.latest_state(straight), ckpt.latest_state(half)
    assert any(k.endswith("ccm0_weight") for k in a["discriminator"])  # the fixed mixing is checkpointed
    for part in ("generator", "discriminator", "generator_ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    config = json.loads(read_export(straight / "generator.safetensors")[1]["train_config"])
    assert config["disc"] == disc and config["projected"]["proj_channels"] == 8
    assert load_generator(straight)(torch.randn(2, 16)).shape == (2, 3, 64, 64)


def test_a_run_can_start_from_an_export_and_refuses_another_architecture(tiny_config, tmp_path):
    cfg = tiny_config(name="source", epochs=1)
    source = train(cfg, progress=False) / "generator.safetensors"
    from facegan.training.setup import setup

    parts = setup(tiny_config(name="tuned", init_generator=str(source), disc="projected"), 3, 64, torch.device("cpu"))
    saved, _ = read_export(source)
    assert all(torch.equal(parts.G.state_dict()[k], v) for k, v in saved.items())
    other = tiny_config(name="other", init_generator=str(source), width=0.25)
    with pytest.raises(FaceganError, match="holds another generator") as e:
        setup(other, 3, 64, torch.device("cpu"))
    assert "\n" not in str(e.value)


def test_the_shipped_model_can_be_fine_tuned_by_name():
    """--init-generator stylegan64: the shipped file, found by name as --generator finds it, loads into the
    network its recipe builds (the EMA copy starts from it too)."""
    from facegan.training.setup import setup

    cfg = build_config("stylegan-cpu", {"init_generator": "stylegan64", "disc": "projected", "device": "cpu"})
    parts = setup(cfg, 3, 64, torch.device("cpu"))
    shipped, _ = read_export(shipped_model(DEFAULT_GENERATOR))
    assert all(torch.equal(parts.ema.average.state_dict()[k], v.float()) for k, v in shipped.items())


def test_projected_settings_without_a_projected_d_are_refused():
    with pytest.raises(FaceganError, match="proj_side set the projected discriminator") as e:
        build_config("quick", {"proj_side": 128})
    assert "--disc projected" in str(e.value) and "\n" not in str(e.value)
