"""The EMA generator: its math, and that training keeps, exports and restores it."""
import pytest
import torch
from safetensors.torch import load_file

from facegan.training import loop as training
from facegan.training import state as ckpt
from facegan.training.ema import EMA, ema_beta
from facegan.training.loop import train


def test_beta_halves_the_weight_of_old_values_after_one_half_life_of_images():
    # after half_life / batch steps the old average keeps weight 0.5, whatever the batch size
    for batch in (16, 64, 256):
        steps = 10_000 // batch
        assert ema_beta(batch, 10**9, 10, 0) ** steps == pytest.approx(0.5 ** (steps * batch / 10_000))
    assert ema_beta(64, 10**9, 10, 0) == pytest.approx(0.5 ** (64 / 10_000))
    # ramp-up: after 1,000 images the half-life is at most 5% of them (50 images)
    assert ema_beta(64, 1000, 10, 0.05) == pytest.approx(0.5 ** (64 / 50))


def test_update_moves_parameters_by_one_minus_beta_and_copies_buffers():
    g = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    ema = EMA(g, half_life_kimg=0.1, rampup=0)
    old = {k: v.clone() for k, v in ema.average.state_dict().items()}
    with torch.no_grad():
        g[0].weight.add_(1.0)
        g[1].running_mean.fill_(7.0)
    ema.update(g, batch=100, images_seen=10**6)  # beta = 0.5 ** (100 / 100) = 0.5
    assert torch.allclose(ema.average[0].weight, 0.5 * old["0.weight"] + 0.5 * g[0].weight)
    assert torch.equal(ema.average[0].bias, old["0.bias"])  # unchanged where G did not move
    assert torch.equal(ema.average[1].running_mean, torch.full((2,), 7.0))  # buffers copied, not averaged
    assert not any(p.requires_grad for p in ema.average.parameters())


def test_training_with_ema_exports_the_average_and_resumes_it_bitwise(tiny_config):
    cfg = dict(ema_kimg=0.05, epochs=2)
    straight = train(tiny_config(name="straight", **cfg), progress=False)
    half = train(tiny_config(name="half", **{**cfg, "epochs": 1}), progress=False)
    train(training.resume_config(half, epochs=2), resume=half, progress=False)
    a, b = ckpt.latest_state(straight), ckpt.latest_state(half)
    for k in a["generator_ema"]:
        assert torch.equal(a["generator_ema"][k], b["generator_ema"][k]), k
    exported = load_file(straight / "generator.safetensors")
    assert all(torch.equal(exported[k], a["generator_ema"][k]) for k in exported)  # the EMA G is exported
    assert any(not torch.equal(a["generator_ema"][k], a["generator"][k])
               for k in a["generator"] if a["generator"][k].is_floating_point())  # and it differs from G
