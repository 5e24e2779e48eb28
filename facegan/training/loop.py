"""The GAN training loop: ``train(cfg)`` -> run directory, for every architecture in the registry.

Per step, in the order of pytorch/examples dcgan: D on real and on fake.detach(), then G through D,
then the EMA generator (if on) follows G. Data is one uint8 tensor on the training device; a batch
is an index into it, scaled to [-1, 1] (and flipped) on the device. Every image D sees passes
through one augmentation hook (DiffAugment, or the identity). Stats accumulate on the device and are
read once per log interval, so the step itself never waits for the host.

``train`` reads top to bottom as named parts over two small objects:
:class:`Parts` (the networks, optimisers and random streams: what :func:`setup` builds and a
checkpoint restores) and :class:`Position` (where in the run we are). ``setup``, ``train_step``,
``d_step`` and ``g_step`` are public: ``bench/throughput.py`` times exactly these.

Run it from the shell with ``facegan train`` (see ``facegan train --help``).
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn
from tqdm import tqdm

from facegan.training import state as ckpt
from facegan.training import distributed
from facegan.training.amp import Amp, resolve as resolve_precision
from facegan.training.augment import Augment, make_augment
from facegan.config import TrainConfig, augment_policy, metric_names
from facegan.data.images import FaceData, load_faces, to_unit_range
from facegan.training.device import describe, pick_device
from facegan.training.ema import EMA
from facegan.errors import FaceganError
from facegan.evaluation.evaluate import check_face_metrics_apply, evaluate
from facegan.fileio import append_jsonl
from facegan.latent import generate, sample_latents
from facegan.training.losses import LOSSES, gradient_penalty, r1_penalty
from facegan.evaluation.metrics import inception_weights_present
from facegan.models import build_models
from facegan.models.summary import count_parameters
from facegan.training.runlog import (Meter, RunRecords, StopRequest, duration, format_record, plural, prepare_run_dir, reload_history, silent)
from facegan.viz import plot_losses, save_grid

GRID_SEED = 1234  # the fixed latent batch behind every per-epoch grid


@dataclass
class EpochEnd:
    """What callbacks receive after each epoch."""
    epoch: int  # epochs completed
    step: int
    record: dict  # the epoch's last log record (losses, D outputs, img/s)
    grid_path: Path
    run_dir: Path


Callback = Callable[[EpochEnd], None]


# ----------------------------------------------------------------------------- the two state objects
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
    noise: torch.Generator  # on the device: z, flips, augmentation, gradient-penalty mixing
    augment: Augment  # every image D sees passes through this hook
    memory_format: torch.memory_format
    mark_step: Callable[[], None]  # CUDA graphs: "a new step begins" (a no-op elsewhere)
    world: int = 1  # processes training together (images per step = world x batch)
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
    batch_in_epoch: int = 0
    step: int = 0
    images_seen: int = 0  # over all processes
    perm: torch.Tensor | None = None  # this epoch's order of the data set


# ----------------------------------------------------------------------------- set-up
def setup(cfg: TrainConfig, channels: int, resolution: int, device: torch.device,
          say: Callable[..., None] = print, world: int = 1, noise_seed: int | None = None) -> Parts:
    """Build G, D (seeded by cfg.seed), the EMA copy, optimisers, precision, schedulers and the
    augmentation hook for images of shape (channels, resolution, resolution) on ``device``."""
    tune_cuda(device)
    torch.manual_seed(cfg.seed)  # weight init
    G, D = build_models(cfg, channels, resolution)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    G.to(device, memory_format=memory_format)
    D.to(device, memory_format=memory_format)
    ema = EMA(G, cfg.ema_kimg, cfg.ema_rampup) if cfg.ema_kimg > 0 else None  # before compile: a plain copy
    if cfg.compile:
        if cfg.gp_weight > 0:  # compiled graphs cannot be differentiated twice, as the penalty needs
            say("note: with --gp-weight, torch.compile runs on G only (D's gradient penalty needs a double backward)")
        compile_modules(say, cfg.compile_mode, *((G,) if cfg.gp_weight > 0 else (G, D)))
    opt_g = adam(G, cfg.lr_g, cfg, device)
    opt_d = adam(D, cfg.lr_d, cfg, device)
    precision, _ = resolve_precision(cfg.precision, device)
    schedulers = ([torch.optim.lr_scheduler.StepLR(o, cfg.lr_step_size, cfg.lr_gamma) for o in (opt_g, opt_d)]
                  if cfg.lr_step_size > 0 else [])
    noise = torch.Generator(device).manual_seed(cfg.seed + 1 if noise_seed is None else noise_seed)
    for net in (G, D):  # style G's per-pixel noise and mixing, mlp D's dropout: drawn from the run's stream
        if hasattr(net, "noise_generator"):
            net.noise_generator = noise
    return Parts(cfg, device, G, D, opt_g, opt_d, Amp(precision, device, [opt_g, opt_d]), schedulers, ema, noise,
                 make_augment(augment_policy(cfg.augment), noise, memory_format), memory_format,
                 cudagraph_step_marker(cfg, device), world)


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


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Restore an optimiser, keeping this build's fused setting: load_state_dict takes the saved
    groups' options, so a checkpoint from before fused Adam would silently turn it off."""
    if "fused" in optimizer.defaults:
        saved = {**saved, "param_groups": [{**g, "fused": optimizer.defaults["fused"]} for g in saved["param_groups"]]}
    optimizer.load_state_dict(saved)


# ----------------------------------------------------------------------------- one step
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
    if p.cfg.gp_weight > 0:
        with p.amp.autocast(double_backward=True):
            loss = loss + p.cfg.gp_weight * gradient_penalty(p.critic, real, fake, p.noise)
    if r1:
        with p.amp.autocast(double_backward=True):
            loss = loss + (p.cfg.r1_gamma / 2 * p.cfg.r1_every) * r1_penalty(p.critic, real)
    p.opt_d.zero_grad(set_to_none=True)
    p.amp.backward(loss, p.opt_d)
    p.amp.step(p.opt_d)
    return fake, {"d_loss": loss.detach(), "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
                  "d_fake": torch.sigmoid(fake_logits.detach().float()).mean()}


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
    """One training step on a real batch: D once, G cfg.g_steps times, then the EMA follows G.
    Returns the step's stats (0-d tensors, still on the device)."""
    cfg = p.cfg
    z = torch.randn(cfg.batch_size, cfg.latent_dim, device=p.device, generator=p.noise)
    p.mark_step()
    fake, stats = d_step(p, real, z, r1=cfg.r1_gamma > 0 and pos.step % cfg.r1_every == 0)
    for k in range(cfg.g_steps):
        if k > 0:  # further G steps use fresh samples
            z = torch.randn(cfg.batch_size, cfg.latent_dim, device=p.device, generator=p.noise)
            with p.amp.autocast():
                fake = p.G_train(z)
        stats.update(g_step(p, fake))
    pos.step += 1
    pos.batch_in_epoch += 1
    pos.images_seen += cfg.batch_size * p.world
    if p.ema:
        p.ema.update(p.G, cfg.batch_size * p.world, pos.images_seen)
    return stats


# ----------------------------------------------------------------------------- checkpoints
def snapshot(p: Parts, pos: Position, metric_history: list[dict]) -> dict[str, Any]:
    """Everything a checkpoint holds (see checkpoint.py; the loss history is log.jsonl)."""
    return {"config": p.cfg.to_dict(), "generator": p.G.state_dict(), "discriminator": p.D.state_dict(),
            "generator_ema": p.ema.state_dict() if p.ema else None,
            "opt_g": p.opt_g.state_dict(), "opt_d": p.opt_d.state_dict(),
            "schedulers": [s.state_dict() for s in p.schedulers], "loss_scalers": p.amp.state_dict(),
            "epoch": pos.epoch, "batch_in_epoch": pos.batch_in_epoch, "step": pos.step,
            "images_seen": pos.images_seen, "perm": pos.perm, "data_rng": pos.data_rng.get_state(),
            "noise_rng": p.noise.get_state(), "device_type": p.device.type, "metric_history": metric_history}


def restore(p: Parts, pos: Position, state: dict[str, Any], what: str, say: Callable, noise_seed: int = 0) -> None:
    """Load a checkpoint's state into freshly set-up parts and position (``noise_seed``: this rank's,
    under torchrun, whose ranks restart their noise streams)."""
    ckpt.load_module_state(p.G, state["generator"], f"{what} (generator)")
    ckpt.load_module_state(p.D, state["discriminator"], f"{what} (discriminator)")
    if p.ema and state["generator_ema"] is not None:
        ckpt.load_module_state(p.ema.average, state["generator_ema"], f"{what} (EMA generator)")
    elif p.ema:  # a run saved without EMA: the average starts from the current G
        p.ema.average.load_state_dict(p.G.state_dict())
    load_optimizer_state(p.opt_g, state["opt_g"])
    load_optimizer_state(p.opt_d, state["opt_d"])
    for sched, saved in zip(p.schedulers, state["schedulers"]):
        sched.load_state_dict(saved)
    p.amp.load_state_dict(state.get("loss_scalers"))
    pos.data_rng.set_state(state["data_rng"])
    if p.world > 1:  # the checkpoint holds rank 0's stream only: every rank starts a fresh one
        p.noise.manual_seed(noise_seed + state["step"])
    elif state["device_type"] == p.device.type:
        p.noise.set_state(state["noise_rng"])
    else:
        say(f"note: resuming on {p.device.type} after {state['device_type']}: the noise stream restarts")
    pos.epoch, pos.batch_in_epoch, pos.step = state["epoch"], state["batch_in_epoch"], state["step"]
    pos.images_seen, pos.perm = state["images_seen"], state["perm"]


# ----------------------------------------------------------------------------- the loop's parts
def run_epoch(p: Parts, pos: Position, images: torch.Tensor, meter: Meter, records: RunRecords,
              rank: int, progress: bool, stop: "StopRequest", deadline: float | None) -> tuple[dict, bool]:
    """Train until the epoch ends (or a stop is requested, or the deadline passes); returns the last
    log record and whether the epoch was completed. Each rank trains on its shard of the epoch's
    permutation."""
    cfg = p.cfg
    steps_per_epoch = len(images) // p.world // cfg.batch_size
    if pos.batch_in_epoch == 0:
        pos.perm = torch.randperm(len(images), generator=pos.data_rng)
    order = pos.perm[rank::p.world].to(p.device)  # this rank's shard of the epoch
    bar = tqdm(total=steps_per_epoch, initial=pos.batch_in_epoch, desc=f"epoch {pos.epoch + 1}/{cfg.epochs}",
               unit="step", disable=not progress, dynamic_ncols=True, leave=True, mininterval=1.0)
    record, interval_start, interval_images = {}, time.perf_counter(), 0
    while pos.batch_in_epoch < steps_per_epoch:
        index = order[pos.batch_in_epoch * cfg.batch_size:(pos.batch_in_epoch + 1) * cfg.batch_size]
        real = real_batch(images, index, cfg.flip, p.noise, p.memory_format)
        meter.add(pos.step + 1, train_step(p, pos, real))
        interval_images += cfg.batch_size
        interval_done = pos.batch_in_epoch % cfg.log_every == 0
        # Checked at log intervals only, with rank 0's clock deciding, so every rank stops at the same step.
        out_of_time = interval_done and deadline is not None and distributed.broadcast_object(
            time.perf_counter() > deadline)
        if interval_done or pos.batch_in_epoch == steps_per_epoch:
            record = log_interval(pos, meter, records, time.perf_counter() - interval_start, interval_images, p.world)
            records.images_trained += interval_images
            bar.update(pos.batch_in_epoch - bar.n)
            bar.set_postfix(**{k: f"{v:.3f}" for k, v in record.items() if k.endswith("_loss")},
                            ips=f"{record['img_per_s']:.0f}")
            interval_start, interval_images = time.perf_counter(), 0
        if stop.requested:
            raise KeyboardInterrupt
        if out_of_time:
            break
    bar.close()
    return record, pos.batch_in_epoch == steps_per_epoch


def log_interval(pos: Position, meter: Meter, records: RunRecords, seconds: float, images: int, world: int) -> dict:
    """Read the device-side meter once; stop on a non-finite loss; log a JSON line."""
    stats, first_bad = meter.read()
    if first_bad >= 0:
        last = ckpt.list_checkpoints(records.run_dir)
        losses = ", ".join(f"{k} {v:.4g}" for k, v in stats.items() if k.endswith("_loss"))
        raise FaceganError(f"non-finite loss at step {first_bad} ({losses}); training stopped, last good "
                           f"checkpoint: {last[-1] if last else 'none yet'}. Try lower learning rates or "
                           "--precision fp32")
    record = {"step": pos.step, "epoch": pos.epoch + 1, **stats,
              "img_per_s": images * world / max(seconds, 1e-9)}  # all processes together
    records.log(record)
    return record


def end_epoch(p: Parts, pos: Position) -> None:
    """Learning-rate schedules, epoch counter, BatchNorm statistics averaged over the ranks."""
    for sched in p.schedulers:
        sched.step()
    pos.epoch, pos.batch_in_epoch = pos.epoch + 1, 0
    distributed.average_buffers(p.G)  # BatchNorm running stats: the mean over the ranks' shards
    distributed.average_buffers(p.D)
    if p.ema:
        p.ema.copy_buffers(p.G)  # the averaged statistics, for the grid and export


def epoch_chores(p: Parts, pos: Position, records: RunRecords, faces: FaceData, fixed_z: torch.Tensor,
                 label: int, final: bool, record: dict, callbacks: list[Callback], say: Callable) -> None:
    """Rank 0 after an epoch (``label`` = its number; ``final``: the run ends here): fixed-z grid,
    metrics, checkpoint + export, loss plot, callbacks."""
    cfg, run_dir = p.cfg, records.run_dir
    start = time.perf_counter()
    p.mark_step()  # CUDA graphs: the grid and metrics start a new generation, not the last step's
    grid_path = save_grid(generate(p.sampler, fixed_z), run_dir / "samples" / f"epoch_{label:03d}.png")
    if cfg.metrics_every and (label % cfg.metrics_every == 0 or final):
        metrics_start = time.perf_counter()
        scores = evaluate(p.sampler, faces.images, cfg.metrics_samples, metric_names(cfg), data_key=faces.key,
                          device=p.device)
        records.metric_history.append({"epoch": label, "step": pos.step, **scores})
        append_jsonl(run_dir / "metrics.jsonl", records.metric_history[-1])
        say(f"epoch {label} metrics: " + ", ".join(
            f"{k} {v:.4g}" for k, v in scores.items() if k in ("swd_avg", "msssim", "fid", "kid")))
        records.seconds["metrics"] += time.perf_counter() - metrics_start
    save(p, pos, records)
    plot_losses(records.history, run_dir / "losses.png", records.metric_history)
    for callback in callbacks:
        callback(EpochEnd(label, pos.step, record, grid_path, run_dir))
    records.seconds["chores"] += time.perf_counter() - start  # (callbacks show the grid: counted here)


def save(p: Parts, pos: Position, records: RunRecords) -> Path:
    """The one save path (epoch end, time limit, Ctrl-C): checkpoint, then the generator export."""
    path = ckpt.save_state(records.run_dir, snapshot(p, pos, records.metric_history), p.cfg.keep_checkpoints)
    ckpt.export_generator(p.sampler, records.run_dir / "generator.safetensors", p.cfg.to_dict())
    return path


def resume_config(run_dir: str | Path, epochs: int | None = None, device: str | None = None) -> TrainConfig:
    """The config a run was trained with, with only the epoch count (and device) changed."""
    values = ckpt.latest_state(run_dir)["config"]
    if epochs is not None:
        values["epochs"] = epochs
    if device is not None:
        values["device"] = device
    return TrainConfig.from_dict(values)


# ----------------------------------------------------------------------------- the loop
def train(cfg: TrainConfig, run_dir: str | Path | None = None, resume: str | Path | None = None,
          callbacks: list[Callback] = (), progress: bool = True, faces: FaceData | None = None) -> Path:
    """Train ``cfg.arch`` as ``cfg`` says and return the run directory.

    ``resume``: a run directory; training continues from its newest checkpoint (``cfg.epochs`` may
    be larger than before). ``faces``: already-loaded data (else ``cfg.data`` is loaded).
    Ctrl-C saves a checkpoint, then re-raises KeyboardInterrupt.
    """
    # --- set-up: processes, data, networks -------------------------------------------------------
    resumed = ckpt.latest_state(resume) if resume else None
    if resumed is not None:
        run_dir = Path(resume)
        if cfg.epochs <= resumed["epoch"]:
            raise FaceganError(f"{run_dir} has already trained {plural(resumed['epoch'], 'epoch')}; "
                               f"pass --epochs N with N > {resumed['epoch']} to continue")
    ranks, device = distributed.setup(pick_device(cfg.device))
    say = print if ranks.is_main else silent  # rank 0 alone prints and writes files
    progress = progress and ranks.is_main
    precision, note = resolve_precision(cfg.precision, device)
    say(f"device: {describe(device)} | preset: {cfg.preset} | {cfg.arch} | batch {cfg.batch_size} "
        f"| {plural(cfg.epochs, 'epoch')}{f' or {cfg.minutes:g} min' if cfg.minutes else ''} | {precision}"
        f"{' (auto)' if cfg.precision == 'auto' else ''}{' + channels_last' if cfg.channels_last else ''}")
    if note:
        say(note)
    if ranks.world > 1:
        say(f"distributed: {ranks.world} processes x batch {cfg.batch_size} = effective batch "
            f"{ranks.world * cfg.batch_size}; each rank trains on 1/{ranks.world} of every epoch "
            f"(DistributedDataParallel, {distributed.backend()})")
    if cfg.metrics_every and "fid" in metric_names(cfg):
        inception_weights_present()  # fail now, not after the first epoch, when FID cannot run
    faces = faces or load_faces(cfg.data, cfg.synthetic_count, cfg.cache_dir, progress, cfg.resolution, cfg.channels)
    if cfg.metrics_every:
        check_face_metrics_apply(faces.channels, faces.resolution)  # now, not after the first epoch
    if cfg.flip and "digit" in faces.attributes:
        say("note: --flip mirrors digits, which makes other glyphs of them; the digits preset trains with --no-flip")
    steps_per_epoch = len(faces) // ranks.world // cfg.batch_size
    if steps_per_epoch == 0:
        raise FaceganError(f"the data has {len(faces)} images, fewer than one batch of {cfg.batch_size} per "
                           "process; lower --batch-size or add images")
    say(f"data: {faces.source} ({faces.channels}x{faces.resolution}x{faces.resolution}); "
        f"{steps_per_epoch} steps of {cfg.batch_size} per epoch")
    noise_seed = cfg.seed + 1 + 7919 * ranks.rank  # each rank its own z, flips, augmentation, GP mixing
    p = setup(cfg, faces.channels, faces.resolution, device, say, ranks.world, noise_seed)
    pos = Position(torch.Generator().manual_seed(cfg.seed))

    # --- restore, or start a new run directory ------------------------------------------------------
    if resumed is not None:
        restore(p, pos, resumed, f"checkpoint of {run_dir}", say, noise_seed)
        say(f"resuming {run_dir} at epoch {pos.epoch + 1}, step {pos.step}")
    run_dir = prepare_run_dir(cfg, run_dir, resumed, ranks.is_main)
    records = RunRecords(run_dir, writes=ranks.is_main)
    if resumed is not None:
        reload_history(records, pos.step)
        records.metric_history = resumed["metric_history"]
    say(f"models: G {count_parameters(p.G):,} parameters, D {count_parameters(p.D):,}"
        f"{f', EMA half-life {cfg.ema_kimg:g}k images' if p.ema else ''}"
        f"{f', DiffAugment {cfg.augment}' if cfg.augment else ''}; run dir: {run_dir}")
    images = faces.images.to(device)  # (N, C, R, R) uint8, resident on the device
    p.G_train, p.D_train = distributed.wrap(p.G, device), distributed.wrap(p.D, device)  # DDP under torchrun
    fixed_z = sample_latents(cfg.grid_size, cfg.latent_dim, GRID_SEED)
    meter = Meter(device)

    # --- epochs -------------------------------------------------------------------------------------
    run_start = time.perf_counter()
    deadline = run_start + cfg.minutes * 60 if cfg.minutes else None
    stop = StopRequest(enabled=ranks.world == 1)
    timed_out = False
    try:
        with stop, eager_fallback(cfg.compile):
            while pos.epoch < cfg.epochs and not timed_out:
                record, completed = run_epoch(p, pos, images, meter, records, ranks.rank, progress, stop, deadline)
                label = pos.epoch + 1
                if completed:
                    end_epoch(p, pos)
                # Cut inside the epoch, or out of time at its end: an epoch shorter than log_every steps
                # has no log interval, where run_epoch checks the deadline. Rank 0's clock decides.
                timed_out = not completed or (deadline is not None and pos.epoch < cfg.epochs
                                              and distributed.broadcast_object(time.perf_counter() > deadline))
                if not progress:  # without a bar, one line per epoch
                    say(f"epoch {label}/{cfg.epochs}{' (time limit)' if timed_out else ''}: " + format_record(record))
                if ranks.is_main:
                    epoch_chores(p, pos, records, faces, fixed_z, label, timed_out or pos.epoch == cfg.epochs, record,
                                 callbacks, say)
    except KeyboardInterrupt:
        if not stop.requested or not ranks.is_main:  # interrupted inside a step: G and D may be half-updated
            print(f"\naborted inside step {pos.step + 1}; the newest checkpoint is left as it was")
            raise
        if pos.batch_in_epoch:
            meter.read()  # the partial interval is not logged; the next one starts clean on resume
        path = save(p, pos, records)
        print(f"interrupted at step {pos.step}: saved {path}; continue with: facegan train --resume {run_dir}")
        raise

    # --- finish ---------------------------------------------------------------------------------------
    finish(p, pos, records, ranks, time.perf_counter() - run_start, timed_out, say)
    return run_dir


def finish(p: Parts, pos: Position, records: RunRecords, ranks, seconds: float, timed_out: bool,
           say: Callable) -> None:
    """Check the ranks agree, leave the process group, print where the time went."""
    if ranks.world > 1:
        in_sync = distributed.weights_in_sync(p.G, p.D)
        say(f"ranks in sync: G and D weights {'identical' if in_sync else 'DIFFER'} on {ranks.world} processes")
        p.G_train = p.D_train = None  # DDP's reducers must go before their process group (else a rare abort)
        distributed.teardown()
        if not in_sync:
            raise FaceganError("distributed ranks ended with different weights; please report this")
    rate = f", {records.images_trained * ranks.world / seconds:.0f} img/s" if records.images_trained else ""
    chores = records.seconds["chores"] - records.seconds["metrics"]
    breakdown = (f"{duration(seconds - records.seconds['chores'])} training steps, "
                 f"{duration(chores)} grids/checkpoints/plots"
                 + (f", {duration(records.seconds['metrics'])} metrics" if records.seconds["metrics"] else ""))
    ended = (f"time limit of {p.cfg.minutes:g} min reached after {plural(pos.epoch, 'full epoch')}"
             if timed_out else plural(pos.epoch, "epoch"))
    export = records.run_dir / "generator.safetensors"
    say(f"done: {ended}, {plural(pos.step, 'step')} in {duration(seconds)}{rate} ({breakdown}). "
        f"Run {records.run_dir}: samples/, losses.png, log.jsonl, checkpoints/, generator.safetensors"
        f"{' (EMA)' if p.ema else ''}. More samples: facegan sample --generator {export} --out samples.png")
