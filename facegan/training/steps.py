"""One training step, as pytorch/examples dcgan writes it: D on real and on fake.detach(), then G
through D, then the EMA generator (if on) follows G.

The steps update a run's :class:`~facegan.training.setup.Parts` (what :func:`~facegan.training.setup.setup`
builds and a checkpoint restores) and advance its :class:`Position`, where in the run it is.
:func:`training_steps` walks the rest of an epoch step by step; the trainer (``facegan.training.loop``) and
the benches in ``bench/`` both drive it, so they time exactly the same work. Logging, the deadline and
Ctrl-C stay outside it.

Data is one uint8 tensor on the training device; a batch is an index into it, scaled to [-1, 1] (and
flipped) on the device. Every image D sees passes through one augmentation hook (DiffAugment, or the
identity). Stats stay on the device (0-d tensors), so the step never waits for the host.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from facegan.data.images import to_unit_range
from facegan.training.augment import AdaptiveAugment
from facegan.training.losses import LOSSES, drift_penalty, gradient_penalty, r1_penalty
from facegan.training.schedule import Phase, real_at_phase
from facegan.training.setup import Parts


@dataclass
class Position:
    """Where the run is: counters and the data order (restored bitwise on resume)."""
    data_rng: torch.Generator  # epoch permutations (CPU)
    epoch: int = 0  # epochs completed
    batch_in_epoch: int = 0  # steps taken in this epoch
    step: int = 0
    images_seen: int = 0  # over all processes
    perm: torch.Tensor | None = None  # this epoch's order of the data set
    image_in_epoch: int = 0  # images of this process's shard trained on in this epoch (batches may vary in size)
    side: int = 0  # the side the last step trained at (0: none yet): a growing run resets Adam when it changes
    seconds: float = 0.0  # wall time trained before this process started (a resumed run's, for its time limit)


def real_batch(images: torch.Tensor, index: torch.Tensor, flip: bool, rng: torch.Generator,
               memory_format: torch.memory_format = torch.contiguous_format) -> torch.Tensor:
    """uint8 (N, C, R, R) on the device, index (B,) -> float (B, C, R, R) in [-1, 1], each image
    mirrored left-right with probability 1/2 when ``flip``."""
    batch = to_unit_range(images[index])
    if flip:
        mirror = torch.rand(batch.shape[0], device=batch.device, generator=rng) < 0.5  # (B,)
        batch = torch.where(mirror[:, None, None, None], batch.flip(3), batch)
    return batch.contiguous(memory_format=memory_format)


def d_step(p: Parts, real: torch.Tensor, z: torch.Tensor, r1: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Update D once. Returns (fake images with G's graph, stats: D loss, mean D(x), mean D(G(z))).

    ``r1``: add the lazy R1 penalty this step (every cfg.r1_every steps, weighted by r1_every, as
    StyleGAN2 does; added to this step's loss rather than taking a step of its own).

    Under torchrun, G_train and D_train are DistributedDataParallel wrappers: D's gradients are then
    averaged over the processes during ``backward``.
    """
    d_loss_fn, _ = LOSSES[p.cfg.loss]
    with p.amp.autocast():
        fake = p.G_train(z)  # (B, C, R, R)
        real_logits = p.critic(real)  # (B, 1, 1, 1)
        fake_logits = p.critic(fake.detach())  # detach: this step must not update G
        loss = d_loss_fn(real_logits, fake_logits)  # computed in fp32 (see losses.py)
    if isinstance(p.augment, AdaptiveAugment):
        p.augment.observe(real_logits)  # ADA's overfitting signal: how sure D is of the reals
    if p.cfg.gp_weight > 0:
        with p.amp.autocast(double_backward=True):
            loss = loss + p.cfg.gp_weight * gradient_penalty(p.critic, real, fake, p.rng)
    if p.cfg.drift_weight > 0:
        loss = loss + p.cfg.drift_weight * drift_penalty(real_logits)
    if r1:
        with p.amp.autocast(double_backward=True):
            loss = loss + (p.cfg.r1_gamma / 2 * p.cfg.r1_every) * r1_penalty(p.critic, real)
    p.opt_d.zero_grad(set_to_none=True)
    p.amp.backward(loss, p.opt_d)
    p.amp.step(p.opt_d)
    stats = {"d_loss": loss.detach(), "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
             "d_fake": torch.sigmoid(fake_logits.detach().float()).mean()}
    if isinstance(p.augment, AdaptiveAugment):  # the log follows the controller
        stats["augment_p"] = p.augment.p
    return fake, stats


def g_step(p: Parts, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """Update G once through the (just updated) D on ``fake``; returns {"g_loss": ...}.

    D's plain module is used, never a DDP wrapper: its weights are frozen here, only G learns.
    """
    _, g_loss_fn = LOSSES[p.cfg.loss]
    p.D.requires_grad_(False)  # gradients flow through D to G, but D's own weight gradients are not needed
    try:
        with p.amp.autocast():
            loss = g_loss_fn(p.D(p.augment(fake)))
        p.opt_g.zero_grad(set_to_none=True)
        p.amp.backward(loss, p.opt_g)
    finally:
        p.D.requires_grad_(True)
    p.amp.step(p.opt_g)
    return {"g_loss": loss.detach()}


def train_step(p: Parts, pos: Position, real: torch.Tensor) -> dict[str, torch.Tensor]:
    """One training step on a real batch (B, C, r, r): D once, G cfg.g_steps times, then the EMA follows
    G. Returns the step's stats (0-d tensors, still on the device)."""
    cfg, batch = p.cfg, real.shape[0]
    z = torch.randn(batch, cfg.latent_dim, device=p.device, generator=p.rng)
    p.mark_step()
    fake, stats = d_step(p, real, z, r1=cfg.r1_gamma > 0 and pos.step % cfg.r1_every == 0)
    for k in range(cfg.g_steps):
        if k > 0:  # further G steps use fresh samples
            z = torch.randn(batch, cfg.latent_dim, device=p.device, generator=p.rng)
            with p.amp.autocast():
                fake = p.G_train(z)
        stats.update(g_step(p, fake))
    pos.step += 1
    pos.batch_in_epoch += 1
    pos.image_in_epoch += batch
    pos.images_seen += batch * p.world
    pos.side = real.shape[-1]
    if p.ema:
        p.ema.update(p.G, batch * p.world, pos.images_seen)
    return stats


def next_batch_size(p: Parts, pos: Position) -> int:
    """Images per process in the next step: the growth schedule's table at the next step's side, else
    cfg.batch_size."""
    return p.schedule.batch_at(pos.images_seen, p.cfg.batch_size) if p.schedule else p.cfg.batch_size


def epoch_finished(p: Parts, pos: Position, images: int) -> bool:
    """Whether the epoch over ``images`` images is done: the next batch no longer fits in what is left
    of this process's shard (the remainder is dropped, as DataLoader's drop_last does)."""
    return pos.image_in_epoch + next_batch_size(p, pos) > images // p.world


def steps_per_epoch(p: Parts, images: int) -> int:
    """Whole cfg.batch_size batches in one rank's shard of ``images`` images (images // p.world, the
    remainder dropped): the steps of an epoch at a fixed batch size. A growing run's batch table is not
    consulted, so such a run's epochs may take another number of steps."""
    return images // p.world // p.cfg.batch_size


def training_steps(p: Parts, pos: Position, images: torch.Tensor, rank: int = 0) -> Iterator[dict[str, torch.Tensor]]:
    """Train through the rest of the current epoch, one :func:`train_step` per iteration, yielding its
    stats. ``images``: the uint8 data (N, C, R, R) on the device. An epoch starting here (pos.batch_in_epoch
    0) draws its order from pos.data_rng; each rank trains on its shard of it. The caller may stop at any
    step (deadline, Ctrl-C): ``pos`` then says where to resume."""
    cfg = p.cfg
    if pos.batch_in_epoch == 0:
        pos.perm = torch.randperm(len(images), generator=pos.data_rng)
    order = pos.perm[rank::p.world].to(p.device)  # this rank's shard of the epoch
    while not epoch_finished(p, pos, len(images)):
        index = order[pos.image_in_epoch:pos.image_in_epoch + next_batch_size(p, pos)]  # (B,)
        real = real_batch(images, index, cfg.flip, p.rng, p.memory_format)  # (B, C, R, R)
        if p.schedule:
            real = real_at_phase(real, enter_phase(p, pos))  # (B, C, r, r), faded like G's output
        yield train_step(p, pos, real)


def enter_phase(p: Parts, pos: Position) -> Phase:
    """Put G, D and the EMA generator in the schedule's phase for the next step (a function of the images
    trained so far, so a resumed run is in it at the same image). A step that starts a new side resets
    both optimisers' moments (the paper's reset_opt_for_new_lod), when cfg.grow_reset_adam."""
    phase = p.schedule.phase_at(pos.images_seen)
    for net in (p.G, p.D, p.ema.average if p.ema else None):
        if net is not None:
            net.set_phase(phase.resolution, phase.alpha)
    if p.cfg.grow_reset_adam and pos.side and pos.side != phase.resolution:
        p.opt_g.state.clear()
        p.opt_d.state.clear()
    return phase
