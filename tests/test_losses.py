"""The adversarial losses' values on logits whose answer is known (facegan.training.losses)."""
import math

import pytest
import torch
from torch import nn

from facegan.training.losses import d_loss_bce, d_loss_wgan, g_loss_bce, g_loss_wgan, gradient_penalty

LN2 = math.log(2)


def test_bce_losses_at_zero_logits_are_the_coin_flip_values():
    """D(x) = sigmoid(0) = 1/2 everywhere: D loss -ln 1/2 - ln 1/2 = 2 ln 2, G loss -ln 1/2 = ln 2."""
    zeros = torch.zeros(8, 1, 1, 1)
    assert d_loss_bce(zeros, zeros).item() == pytest.approx(2 * LN2)
    assert g_loss_bce(zeros).item() == pytest.approx(LN2)


def test_bce_losses_label_real_as_one_and_fake_as_zero():
    """Zero logits cannot tell the labels apart; D(x) = 3/4 (logit ln 3) can. D loss: -ln 3/4 for the
    real side plus ln 2 for a fake at logit 0 (swapped labels give ln 4 + ln 2); G's non-saturating
    loss -ln D(G(z)) = -ln 3/4 (the saturating ln(1 - D) would be ln 1/4)."""
    real, fake = torch.full((4,), math.log(3)), torch.zeros(4)
    assert d_loss_bce(real, fake).item() == pytest.approx(math.log(4 / 3) + LN2)
    assert g_loss_bce(real).item() == pytest.approx(math.log(4 / 3))


def test_wgan_losses_are_differences_of_mean_critic_scores():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])  # means 2 and -1
    assert d_loss_wgan(real, fake).item() == pytest.approx(-1 - 2)  # E[D(fake)] - E[D(real)]
    assert g_loss_wgan(fake).item() == pytest.approx(1.0)  # -E[D(fake)]


def test_losses_are_fp32_for_bf16_logits():
    """Under autocast the logits come in bf16; the losses must still be computed and returned in fp32."""
    logits = torch.full((4,), math.log(3)).bfloat16()
    for loss in (d_loss_bce(logits, logits), g_loss_bce(logits), d_loss_wgan(logits, logits), g_loss_wgan(logits)):
        assert loss.dtype == torch.float32


class Linear(nn.Module):
    """D(x) = sum(w * x) per image: its input gradient is w for every x, of norm ||w||."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (self.w * x).flatten(1).sum(1)


def test_gradient_penalty_of_a_linear_critic_is_its_norm_minus_one_squared():
    """||w|| = 3 gives (3 - 1)^2 = 4 per image, so 4 on average, wherever the interpolates fall. A norm
    taken over the whole batch (3 * sqrt(4) = 6) would give 25. The penalty must also be differentiable
    in D's weights (create_graph): d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 4/3 w."""
    w = torch.zeros(1, 3, 2, 2)
    w[0, 0, 0, 0], w[0, 1, 1, 1] = 3 / math.sqrt(2), 3 / math.sqrt(2)
    D = Linear(w.clone())
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    penalty = gradient_penalty(D, real, fake)
    assert penalty.item() == pytest.approx(4.0)
    penalty.backward()
    torch.testing.assert_close(D.w.grad, 4 / 3 * w)


def test_gradient_penalty_is_taken_at_interpolates_of_real_and_fake():
    """D(x) = sum(x^2) / 2 has input gradient x: the penalty is E[(||x_hat|| - 1)^2] at x_hat = a * real +
    (1 - a) * fake, with a drawn from the generator passed in. real = 1 (norm 2 on 4 pixels), fake = 0:
    ||x_hat|| = 2a. A penalty at the real images alone would be 1 whatever a is."""
    class Square(nn.Module):
        def forward(self, x):
            return (x ** 2).flatten(1).sum(1) / 2

    real, fake = torch.ones(64, 1, 2, 2), torch.zeros(64, 1, 2, 2)
    penalty = gradient_penalty(Square(), real, fake, torch.Generator().manual_seed(0))
    a = torch.rand(64, 1, 1, 1, generator=torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx(((2 * a - 1) ** 2).mean().item(), rel=1e-5)
    assert penalty.item() < 0.5  # E[(2a - 1)^2] = 1/3 for uniform a: clearly not the real-only 1
