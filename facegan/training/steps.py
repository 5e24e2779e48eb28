"""One training step, as pytorch/examples dcgan writes it: D on real and on fake.detach(), then G
through D, then the EMA generator (if on) follows G.

:class:`Parts` holds the networks, optimisers and random streams of one run (what :func:`setup` builds
and a checkpoint restores), :class:`Position` where in the run it is. :func:`training_steps` walks the
rest of an epoch step by step; the trainer (``facegan.training.loop``) and the benches in ``bench/``
both drive it, so they time exactly the same work. Logging, the deadline and Ctrl-C stay outside it.

Data is one uint8 tensor on the training device; a batch is an index into it, scaled to [-1, 1] (and
flipped) on the device. Every image D sees passes through one augmentation hook (DiffAugment, or the
identity). Stats stay on the device (0-d tensors), so the step never waits for the host.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn

from facegan.config import TrainConfig, augment_policy, batch_table
from facegan.data.images import to_unit_range
from facegan.interop.export import load_generator_weights
from facegan.models import build_models
from facegan.models.contract import set_random_stream
from facegan.training.amp import Amp
from facegan.training.amp import resolve as resolve_precision
from facegan.training.augment import AdaptiveAugment, Augment, make_augment
from facegan.training.ema import EMA
from facegan.training.losses import LOSSES, drift_penalty, gradient_penalty, r1_penalty
from facegan.training.schedule import GrowthSchedule, Phase, real_at_phase


@dataclass
class Parts:
    """The networks, optimisers and random streams of one run: built by :func:`setup`, saved in and
    restored from checkpoints. ``G_train``/``D_train`` are what the steps call: DistributedDataParallel
    wrappers under torchrun, else ``G``/``D`` themselves."""
    cfg: TrainConfig
    device: torch.device
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    amp: Amp
    schedulers: list
    ema: EMA | None
    rng: torch.Generator  # the run's random stream, on the device: z, flips, augmentation, GP mixing, G's noise
    augment: Augment  # every image D sees passes through this hook
    memory_format: torch.memory_format
    mark_step: Callable[[], None]  # CUDA graphs: "a new step begins" (a no-op elsewhere)
    world: int = 1  # processes training together (images per step = world x batch)
    schedule: GrowthSchedule | None = None  # progressive growing: the phase at each image count
    G_train: nn.Module | None = None
    D_train: nn.Module | None = None

    def __post_init__(self) -> None:
        self.G_train = self.G_train or self.G
        self.D_train = self.D_train or self.D

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw samples, grids, exports and metrics from: the EMA one if the run has it."""
        return self.ema.average if self.ema else self.G

    def critic(self, images: torch.Tensor) -> torch.Tensor:
        """D's logits for images after the augmentation hook (what every D call in training goes through)."""
        return self.D_train(self.augment(images))


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


def setup(cfg: TrainConfig, channels: int, resolution: int, device: torch.device,
          say: Callable[..., None] = print, world: int = 1, rng_seed: int | None = None,
          resuming: bool = False) -> Parts:
    """Build G, D (seeded by cfg.seed), the EMA copy, optimisers, precision, schedulers and the
    augmentation hook for images of shape (channels, resolution, resolution) on ``device``. A new run
    with cfg.init_generator starts G from that export (``resuming``: the checkpoint will overwrite it)."""
    tune_cuda(device)
    torch.manual_seed(cfg.seed)  # weight init
    G, D = build_models(cfg, channels, resolution)
    if cfg.init_generator and not resuming:
        load_generator_weights(G, cfg.init_generator)  # fine-tuning: the EMA copy below starts from them too
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    G.to(device, memory_format=memory_format)
    D.to(device, memory_format=memory_format)
    ema = EMA(G, cfg.ema_kimg, cfg.ema_rampup) if cfg.ema_kimg > 0 else None  # before compile: a plain copy
    if cfg.compile:
        double_backward = cfg.gp_weight > 0 or cfg.r1_gamma > 0  # compiled graphs cannot be differentiated twice
        if double_backward:
            say("note: with a gradient penalty (--gp-weight or --r1-gamma), torch.compile runs on G only "
                "(the penalty differentiates D twice)")
        compile_modules(say, cfg.compile_mode, *((G,) if double_backward else (G, D)))
    opt_g = adam(G, cfg.lr_g, cfg, device)
    opt_d = adam(D, cfg.lr_d, cfg, device)
    precision, _ = resolve_precision(cfg.precision, device)
    schedulers = ([torch.optim.lr_scheduler.StepLR(o, cfg.lr_step_size, cfg.lr_gamma) for o in (opt_g, opt_d)]
                  if cfg.lr_step_size > 0 else [])
    rng = torch.Generator(device).manual_seed(cfg.seed + 1 if rng_seed is None else rng_seed)
    for net in (G, D):  # style G's per-pixel noise and mixing, mlp D's dropout: drawn from the run's stream
        set_random_stream(net, rng)
    schedule = (GrowthSchedule(cfg.grow_from, resolution, cfg.fade_kimg, cfg.stable_kimg,
                               batch_table(cfg.batch_by_side)) if cfg.grow_from else None)
    augment = make_augment(augment_policy(cfg.augment), rng, memory_format, cfg.ada_target, cfg.ada_kimg)
    return Parts(cfg, device, G, D, opt_g, opt_d, Amp(precision, device, [opt_g, opt_d]), schedulers, ema, rng,
                 augment, memory_format, cudagraph_step_marker(cfg, device), world, schedule)


def adam(module: nn.Module, lr: float, cfg: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam as the seed sets it up; fused (one kernel for all parameters) on CUDA and CPU, which
    bench/step_profile.py measured faster than the default multi-tensor step (bench/RESULTS.md)."""
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(cfg.beta1, cfg.beta2), **fused)


def tune_cuda(device: torch.device) -> None:
    """cuDNN picks the fastest convolution algorithms for our fixed shapes (measured once per shape);
    fp32 matmuls may use TF32 tensor cores, as cuDNN convolutions already do by default."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")


def compile_modules(say: Callable, mode: str, *modules: nn.Module) -> None:
    """torch.compile in place (state_dict keys unchanged, so checkpoints stay compatible). Compiling
    is lazy: it happens at the first calls, inside :func:`eager_fallback`. Mode "reduce-overhead"
    adds CUDA graphs on CUDA (one replay per module call instead of one launch per kernel)."""
    if not hasattr(torch.nn.Module, "compile"):
        say(f"note: this torch ({torch.__version__}) has no Module.compile; training eagerly")
        return
    import torch._dynamo as dynamo

    # Each layer instance (another width, so other parameter shapes) is one more compilation of the
    # same forward: the default limit of 8 left the style generator's later layers eager.
    dynamo.config.recompile_limit = max(dynamo.config.recompile_limit, 64)
    for module in modules:
        module.compile(mode=mode)
    say(f"torch.compile: on, mode {mode} (the first steps compile, which takes a while)")


@contextlib.contextmanager
def eager_fallback(enabled: bool) -> Iterator[None]:
    """While training with torch.compile: a graph that fails to compile runs eagerly instead of
    stopping the run (dynamo's suppress_errors). The process-wide switch is restored afterwards, so
    it does not leak into a notebook kernel."""
    if not enabled:
        yield
        return
    import torch._dynamo as dynamo

    previous = dynamo.config.suppress_errors
    dynamo.config.suppress_errors = True
    try:
        yield
    finally:
        dynamo.config.suppress_errors = previous


def cudagraph_step_marker(cfg: TrainConfig, device: torch.device) -> Callable[[], None]:
    """With CUDA graphs (compile mode reduce-overhead on CUDA), tell them where a training step
    begins, so the previous step's graph outputs may be overwritten; otherwise a no-op."""
    if cfg.compile and cfg.compile_mode == "reduce-overhead" and device.type == "cuda":
        return torch.compiler.cudagraph_mark_step_begin
    return lambda: None


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
    """Steps in one epoch over ``images`` images at cfg.batch_size (each of the p.world ranks takes
    batches of its shard); a growing run with a batch table takes as many as its batches fit."""
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
