"""Adversarial losses as small pure functions of discriminator logits (computed in fp32).

BCE-with-logits instead of Sigmoid + BCELoss: numerically stable and safe under autocast.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z)))."""
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def g_loss_bce(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -log D(G(z))."""
    fake_logits = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def d_loss_wgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return fake_logits.float().mean() - real_logits.float().mean()


def g_loss_wgan(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.float().mean()


def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss (Lim & Ye 2017; Projected GAN's): mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))."""
    return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     rng: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates x_hat of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=rng)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = discriminator(x_hat).float()
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al., 2018; StyleGAN2's D regulariser): E[||grad_x D(x)||^2] at the real images,
    the squared gradient summed over each image's pixels and averaged over the batch. Differentiable in
    D's weights (create_graph). The official loss adds gamma / 2 times this."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(real).float().sum(), real, create_graph=True)
    return grad.float().square().flatten(1).sum(1).mean()


def drift_penalty(real_logits: torch.Tensor) -> torch.Tensor:
    """ProGAN's epsilon drift term: mean(D(real)^2), which keeps a Wasserstein critic's outputs near 0
    (weighted by --drift-weight, 0.001 in the paper)."""
    return real_logits.float().square().mean()


# hinge's generator loss is WGAN's, -mean(D(G(z))): only D's loss saturates
LOSSES = {"bce": (d_loss_bce, g_loss_bce), "wgan": (d_loss_wgan, g_loss_wgan), "hinge": (d_loss_hinge, g_loss_wgan)}
