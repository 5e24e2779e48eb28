"""Precision choice and the optimiser step under loss scaling (facegan.training.amp)."""
import pytest
import torch
from torch import nn

from facegan.errors import FaceganError
from facegan.training import amp as amp_module
from facegan.training.amp import Amp, resolve
from facegan.training.losses import d_loss_bce

CPU = torch.device("cpu")


@pytest.mark.parametrize("native, expected", [(False, "fp32"), (True, "bf16")])
def test_auto_picks_bf16_only_where_the_hardware_has_it(monkeypatch, native, expected):
    monkeypatch.setattr(amp_module, "native_bf16", lambda device: native)
    assert resolve("auto", CPU) == (expected, None)


@pytest.mark.parametrize("major, native", [(7, False), (8, True), (9, True)])
def test_cuda_bf16_counts_as_native_from_ampere_on(monkeypatch, major, native):
    """Volta/Turing GPUs only emulate bf16 (torch.cuda.is_bf16_supported() says True for them by default)."""
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: type("Props", (), {"major": major}))
    assert amp_module.native_bf16(torch.device("cuda")) is native


def test_explicit_choices_are_kept_with_a_note_when_emulated(monkeypatch):
    monkeypatch.setattr(amp_module, "native_bf16", lambda device: False)
    precision, note = resolve("bf16", CPU)
    assert precision == "bf16" and "emulated" in note
    assert resolve("fp32", CPU) == ("fp32", None)
    assert resolve("fp16", CPU)[0] == "fp16"
    with pytest.raises(FaceganError, match="precision must be auto, fp32, bf16 or fp16"):
        resolve("fp8", CPU)


def test_bf16_autocast_runs_convolutions_in_bf16_and_losses_in_fp32():
    conv = nn.Conv2d(3, 1, 3)
    with Amp("bf16", CPU, []).autocast():
        logits = conv(torch.randn(2, 3, 8, 8))
        loss = d_loss_bce(logits, logits)
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32


def _sgd_update(precision: str, loss_scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, Amp]:
    """(weight before, weight after, the Amp) for one SGD step on a small linear layer."""
    torch.manual_seed(0)
    layer = nn.Linear(4, 1)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    amp = Amp(precision, CPU, [opt])
    before = layer.weight.detach().clone()
    loss = layer(torch.randn(8, 4)).pow(2).mean() * loss_scale
    opt.zero_grad()
    amp.backward(loss, opt)
    amp.step(opt)
    return before, layer.weight.detach().clone(), amp


def test_fp16_loss_scaling_unscales_before_the_step():
    _, plain, _ = _sgd_update("fp32")
    _, scaled, amp = _sgd_update("fp16")
    assert amp.scalers[0].get_scale() == 65536.0  # gradients were multiplied by 2^16 in backward...
    torch.testing.assert_close(scaled, plain)  # ...and divided again before SGD used them


def test_fp16_skips_a_step_whose_gradients_overflow_and_lowers_the_scale():
    before, after, amp = _sgd_update("fp16", loss_scale=float("inf"))
    assert torch.equal(before, after)  # the overflowing step changed nothing
    assert amp.scalers[0].get_scale() == 32768.0
    assert amp.state_dict()[0]["scale"] == 32768.0


def test_scaler_state_round_trips_and_ignores_a_mismatched_checkpoint():
    _, _, saved = _sgd_update("fp16", loss_scale=float("inf"))
    fresh = Amp("fp16", CPU, [torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)])
    fresh.load_state_dict(saved.state_dict())
    assert fresh.scalers[0].get_scale() == 32768.0
    fresh.load_state_dict([])  # a checkpoint written in fp32 holds no scalers: the scale stays
    assert fresh.scalers[0].get_scale() == 32768.0


def test_double_backward_code_runs_in_fp32_under_fp16_and_in_bf16_under_bf16():
    """The gradient penalty's inner gradient is not loss-scaled: fp16 would underflow or overflow there."""
    conv = nn.Conv2d(3, 1, 3)
    x = torch.randn(2, 3, 8, 8)
    with Amp("fp16", CPU, []).autocast(double_backward=True):
        assert conv(x).dtype == torch.float32
    with Amp("fp16", CPU, []).autocast():
        assert conv(x).dtype == torch.float16
    with Amp("bf16", CPU, []).autocast(double_backward=True):
        assert conv(x).dtype == torch.bfloat16
