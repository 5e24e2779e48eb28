"""The DCGAN training loop: ``train(cfg)`` -> run directory.

Per step, in the order of pytorch/examples dcgan: D on real and on fake.detach(), then G through D.
Data is one uint8 tensor on the training device; a batch is an index into it, scaled to [-1, 1]
(and flipped) on the device. Losses accumulate on the device and are read once per log interval,
so the step itself never waits for the host.

Run it from the shell with ``facegan train`` (see ``facegan train --help``).
"""
from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from tqdm import tqdm

from . import checkpoint as ckpt
from . import distributed
from .amp import Amp, resolve as resolve_precision
from .config import TrainConfig, metric_names
from .data import FaceData, load_faces, to_unit_range
from .device import describe, pick_device
from .errors import FaceganError
from .evaluation import append_jsonl, evaluate
from .metrics import inception_weights_present
from .fileio import write_text_atomic
from .latent import generate, sample_latents
from .losses import LOSSES, gradient_penalty
from .models import Discriminator, Generator, count_parameters
from .viz import plot_losses, save_grid

GRID_SEED = 1234  # the fixed latent batch behind every per-epoch grid


@dataclass
class EpochEnd:
    """What callbacks receive after each epoch."""
    epoch: int  # epochs completed
    step: int
    record: dict  # the epoch's last log record (losses, D outputs, img/s)
    grid_path: Path
    run_dir: Path
    history: list[dict]


Callback = Callable[[EpochEnd], None]


# ----------------------------------------------------------------------------- run directory
def new_run_dir(runs_dir: str | Path, name: str) -> Path:
    """runs_dir/NNN-name with NNN one above the highest existing number."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[:3]) for p in runs_dir.iterdir() if p.name[:3].isdigit()]
    n = max(numbers, default=0) + 1
    while True:
        path = runs_dir / f"{n:03d}-{name}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


# ----------------------------------------------------------------------------- one step each
def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor,
           cfg: TrainConfig, amp: Amp, noise: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Update D once. Returns (fake images with G's graph, D loss, mean D(x), mean D(G(z))).

    G and D may be DistributedDataParallel wrappers: then D's gradients are averaged over the
    processes during ``backward``.
    """
    d_loss_fn, _ = LOSSES[cfg.loss]
    with amp.autocast():
        fake = G(z)  # (B, 3, 64, 64)
        real_logits = D(real)  # (B, 1, 1, 1)
        fake_logits = D(fake.detach())  # detach: this step must not update G
        loss = d_loss_fn(real_logits, fake_logits)  # computed in fp32 (see losses.py)
    if cfg.gp_weight > 0:
        with amp.autocast(double_backward=True):
            loss = loss + cfg.gp_weight * gradient_penalty(D, real, fake, noise)
    opt_d.zero_grad(set_to_none=True)
    amp.backward(loss, opt_d)
    amp.step(opt_d)
    d_real = torch.sigmoid(real_logits.detach().float()).mean()
    d_fake = torch.sigmoid(fake_logits.detach().float()).mean()
    return fake, loss.detach(), d_real, d_fake


def g_step(D: Discriminator, opt_g: torch.optim.Optimizer, fake: torch.Tensor, cfg: TrainConfig,
           amp: Amp) -> torch.Tensor:
    """Update G once through the (just updated) D on ``fake``; returns the G loss.

    ``D`` is the plain module, never a DDP wrapper: its weights are frozen here, only G learns.
    """
    _, g_loss_fn = LOSSES[cfg.loss]
    D.requires_grad_(False)  # gradients flow through D to G, but D's own weight gradients are not needed
    try:
        with amp.autocast():
            loss = g_loss_fn(D(fake))
        opt_g.zero_grad(set_to_none=True)
        amp.backward(loss, opt_g)
    finally:
        D.requires_grad_(True)
    amp.step(opt_g)
    return loss.detach()


# ----------------------------------------------------------------------------- setup helpers
def adam(module: nn.Module, lr: float, cfg: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam as the seed sets it up; fused (one kernel for all parameters) on CUDA and CPU: measured
    1.6-1.8x faster than torch's default multi-tensor step on CPU (bench/step_profile.py)."""
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(cfg.beta1, cfg.beta2), **fused)


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Restore an optimiser, keeping this build's fused setting: load_state_dict takes the saved
    groups' options, so a checkpoint from before fused Adam would silently turn it off."""
    if "fused" in optimizer.defaults:
        saved = {**saved, "param_groups": [{**g, "fused": optimizer.defaults["fused"]} for g in saved["param_groups"]]}
    optimizer.load_state_dict(saved)


def _tune_cuda(device: torch.device) -> None:
    """cuDNN picks the fastest convolution algorithms for our fixed shapes (measured once per shape);
    fp32 matmuls may use TF32 tensor cores, as cuDNN convolutions already do by default."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")


def _schedulers(cfg: TrainConfig, *optimizers: torch.optim.Optimizer) -> list:
    if cfg.lr_step_size <= 0:
        return []
    return [torch.optim.lr_scheduler.StepLR(o, cfg.lr_step_size, cfg.lr_gamma) for o in optimizers]


def _compile(say: Callable, mode: str, *modules: torch.nn.Module) -> None:
    """torch.compile in place (state_dict keys unchanged, so checkpoints stay compatible). A graph
    that fails to compile runs eagerly instead of stopping training (dynamo's suppress_errors).
    mode "reduce-overhead" adds CUDA graphs on CUDA (one replay per module call instead of one
    launch per kernel); on a CPU it compiles as "default"."""
    if not hasattr(torch.nn.Module, "compile"):
        say(f"note: this torch ({torch.__version__}) has no Module.compile; training eagerly")
        return
    import torch._dynamo as dynamo

    dynamo.config.suppress_errors = True
    for module in modules:
        module.compile(mode=mode)
    say(f"torch.compile: on, mode {mode} (the first steps compile, which takes a while)")


def _cudagraph_step_marker(cfg: TrainConfig, device: torch.device) -> Callable[[], None]:
    """With CUDA graphs (compile mode reduce-overhead on CUDA), tell them where a training step
    begins, so the previous step's graph outputs may be overwritten; otherwise a no-op."""
    if cfg.compile and cfg.compile_mode == "reduce-overhead" and device.type == "cuda":
        return torch.compiler.cudagraph_mark_step_begin
    return lambda: None


def _real_batch(images: torch.Tensor, index: torch.Tensor, flip: bool, noise: torch.Generator,
                memory_format: torch.memory_format) -> torch.Tensor:
    """uint8 (N, 3, 64, 64) on device, index (B,) -> float (B, 3, 64, 64) in [-1, 1], maybe flipped."""
    batch = to_unit_range(images[index])
    if flip:
        mirror = torch.rand(batch.shape[0], device=batch.device, generator=noise) < 0.5  # (B,)
        batch = torch.where(mirror[:, None, None, None], batch.flip(3), batch)
    return batch.contiguous(memory_format=memory_format)


class _StopAfterStep:
    """First Ctrl-C: finish the current step, then stop, so the saved state is consistent.
    A second Ctrl-C interrupts at once. Only the main thread may own the SIGINT handler."""

    def __init__(self, enabled: bool = True):
        self.requested = False
        self._previous = None
        self.enabled = enabled  # off under torchrun: ranks could stop at different steps and hang

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: stopping after this step and saving a checkpoint (press again to abort now)")

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class _Meter:
    """Running sums of (D loss, G loss, D(x), D(G(z))) kept on the device; read once per interval.

    Also remembers the first step whose loss was not finite, without a host sync per step.
    """

    def __init__(self, device: torch.device):
        self.sums = torch.zeros(4, device=device)
        self.count = 0
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)

    def add(self, step: int, d_loss, g_loss, d_real, d_fake) -> None:
        values = torch.stack([d_loss.float(), g_loss.float(), d_real, d_fake])
        self.sums += values
        self.count += 1
        bad = ~torch.isfinite(values[:2]).all()
        self.first_bad = torch.where(bad & (self.first_bad < 0), torch.full_like(self.first_bad, step), self.first_bad)

    def read(self) -> tuple[list[float], int]:
        means = distributed.reduce_(self.sums / max(self.count, 1)).tolist()  # mean over ranks too
        first_bad = int(distributed.reduce_(self.first_bad.clone(), "max"))
        self.sums.zero_()
        self.count = 0
        return means, first_bad


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
    """Train a DCGAN as ``cfg`` says and return the run directory.

    ``resume``: a run directory; training continues from its newest checkpoint (``cfg.epochs`` may
    be larger than before). ``faces``: already-loaded data (else ``cfg.data`` is loaded).
    Ctrl-C saves a checkpoint, then re-raises KeyboardInterrupt.
    """
    # --- state: fresh, or restored from the newest checkpoint ---------------------------------
    state = ckpt.latest_state(resume) if resume else None
    if state is not None:
        run_dir = Path(resume)
        if cfg.epochs <= state["epoch"]:
            raise FaceganError(f"{run_dir} has already trained {state['epoch']} epoch(s); "
                               f"pass --epochs N with N > {state['epoch']} to continue")
    ranks, device = distributed.setup(pick_device(cfg.device))
    say = print if ranks.is_main else _silent  # rank 0 alone prints and writes files
    progress = progress and ranks.is_main
    precision, note = resolve_precision(cfg.precision, device)
    say(f"device: {describe(device)} | preset: {cfg.preset} | width {cfg.width} | batch {cfg.batch_size} "
        f"| {cfg.epochs} epochs | {precision}{' (auto)' if cfg.precision == 'auto' else ''}"
        f"{' + channels_last' if cfg.channels_last else ''}")
    if note:
        say(note)
    if ranks.world > 1:
        say(f"distributed: {ranks.world} processes x batch {cfg.batch_size} = effective batch "
            f"{ranks.world * cfg.batch_size}; each rank trains on 1/{ranks.world} of every epoch "
            f"(DistributedDataParallel, {distributed.backend()})")

    if cfg.metrics_every and "fid" in metric_names(cfg):
        inception_weights_present()  # fail now, not after the first epoch, when FID cannot run
    faces = faces or load_faces(cfg.data, cfg.synthetic_count, cfg.cache_dir, progress)
    steps_per_epoch = len(faces) // ranks.world // cfg.batch_size
    if steps_per_epoch == 0:
        raise FaceganError(f"the data has {len(faces)} images, fewer than one batch of {cfg.batch_size} per "
                           "process; lower --batch-size or add images")
    say(f"data: {faces.source}; {steps_per_epoch} steps of {cfg.batch_size} per epoch")

    _tune_cuda(device)
    torch.manual_seed(cfg.seed)  # weight init
    G = Generator(cfg.latent_dim, cfg.width)
    D = Discriminator(cfg.width)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    G.to(device, memory_format=memory_format)
    D.to(device, memory_format=memory_format)
    if cfg.compile:
        if cfg.gp_weight > 0:  # compiled graphs cannot be differentiated twice, as the penalty needs
            say("note: with --gp-weight, torch.compile runs on G only (D's gradient penalty needs a double backward)")
        _compile(say, cfg.compile_mode, *((G,) if cfg.gp_weight > 0 else (G, D)))
    opt_g = adam(G, cfg.lr_g, cfg, device)
    opt_d = adam(D, cfg.lr_d, cfg, device)
    amp = Amp(precision, device, [opt_g, opt_d])
    schedulers = _schedulers(cfg, opt_g, opt_d)
    data_rng = torch.Generator().manual_seed(cfg.seed)  # epoch permutations (CPU)
    noise_seed = cfg.seed + 1 + 7919 * ranks.rank  # each rank its own z, flips, GP mixing
    noise_rng = torch.Generator(device).manual_seed(noise_seed)
    fixed_z = sample_latents(cfg.grid_size, cfg.latent_dim, GRID_SEED)
    epoch, batch_in_epoch, step, history, metric_history, perm = 0, 0, 0, [], [], None

    if state is not None:
        ckpt.load_module_state(G, state["generator"], f"checkpoint of {run_dir} (generator)")
        ckpt.load_module_state(D, state["discriminator"], f"checkpoint of {run_dir} (discriminator)")
        load_optimizer_state(opt_g, state["opt_g"])
        load_optimizer_state(opt_d, state["opt_d"])
        for sched, saved in zip(schedulers, state["schedulers"]):
            sched.load_state_dict(saved)
        amp.load_state_dict(state.get("loss_scalers"))
        data_rng.set_state(state["data_rng"])
        if ranks.world > 1:  # the checkpoint holds rank 0's stream only: every rank starts a fresh one
            noise_rng.manual_seed(noise_seed + state["step"])
        elif state["device_type"] == device.type:
            noise_rng.set_state(state["noise_rng"])
        else:
            say(f"note: resuming on {device.type} after {state['device_type']}: the noise stream restarts")
        epoch, batch_in_epoch, step = state["epoch"], state["batch_in_epoch"], state["step"]
        history, metric_history, perm = state["history"], state["metric_history"], state["perm"]
        say(f"resuming {run_dir} at epoch {epoch + 1}, step {step}")
    elif ranks.is_main:
        run_dir = Path(run_dir) if run_dir else new_run_dir(cfg.runs_dir, cfg.name)
        run_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(distributed.broadcast_object(str(run_dir)))
    if ranks.is_main:
        write_text_atomic(run_dir / "config.json", cfg.to_json() + "\n")
        (run_dir / "samples").mkdir(exist_ok=True)
    say(f"models: G {count_parameters(G):,} parameters, D {count_parameters(D):,}; run dir: {run_dir}")

    images = faces.images.to(device)  # (N, 3, 64, 64) uint8, resident on the device
    G_train, D_train = distributed.wrap(G, device), distributed.wrap(D, device)  # DDP under torchrun
    mark_step = _cudagraph_step_marker(cfg, device)
    meter = _Meter(device)
    log_file = open(run_dir / "log.jsonl", "a") if ranks.is_main else None

    def snapshot() -> dict[str, Any]:
        return {"config": cfg.to_dict(), "generator": G.state_dict(), "discriminator": D.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "schedulers": [s.state_dict() for s in schedulers], "loss_scalers": amp.state_dict(),
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch, "step": step, "perm": perm,
                "data_rng": data_rng.get_state(), "noise_rng": noise_rng.get_state(),
                "device_type": device.type, "history": history, "metric_history": metric_history}

    def flush(epoch_index: int, seconds: float, images_seen: int) -> dict:
        """Read the device-side meter once; stop on a non-finite loss; log a JSON line."""
        (d_loss, g_loss, d_real, d_fake), first_bad = meter.read()
        if first_bad >= 0:
            last = ckpt.list_checkpoints(run_dir)
            raise FaceganError(f"non-finite loss at step {first_bad} (D {d_loss:.4g}, G {g_loss:.4g}); training "
                               f"stopped, last good checkpoint: {last[-1] if last else 'none yet'}. Try lower "
                               "learning rates or --precision fp32")
        record = {"step": step, "epoch": epoch_index + 1, "d_loss": d_loss, "g_loss": g_loss,
                  "d_real": d_real, "d_fake": d_fake,
                  "img_per_s": images_seen * ranks.world / max(seconds, 1e-9)}  # all processes together
        history.append(record)
        if log_file:
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()
        return record

    run_start = time.perf_counter()
    spent = {"files": 0.0, "metrics": 0.0}  # seconds at epoch ends: grids, checkpoints, plots; metrics
    images_trained = 0
    stop = _StopAfterStep(enabled=ranks.world == 1)
    try:
        with stop:
            while epoch < cfg.epochs:
                # --- one epoch: a permutation of the data, drawn by index in batches -----------
                if batch_in_epoch == 0:
                    perm = torch.randperm(len(faces), generator=data_rng)
                order = perm[ranks.rank::ranks.world].to(device)  # this rank's shard of the epoch
                bar = tqdm(total=steps_per_epoch, initial=batch_in_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                           unit="step", disable=not progress, dynamic_ncols=True, leave=True)
                record, interval_start, interval_images = {}, time.perf_counter(), 0
                while batch_in_epoch < steps_per_epoch:
                    index = order[batch_in_epoch * cfg.batch_size:(batch_in_epoch + 1) * cfg.batch_size]
                    real = _real_batch(images, index, cfg.flip, noise_rng, memory_format)
                    z = torch.randn(cfg.batch_size, cfg.latent_dim, device=device, generator=noise_rng)
                    mark_step()
                    fake, d_loss, d_real, d_fake = d_step(G_train, D_train, opt_d, real, z, cfg, amp, noise_rng)
                    for k in range(cfg.g_steps):
                        if k > 0:  # further G steps use fresh samples
                            z = torch.randn(cfg.batch_size, cfg.latent_dim, device=device, generator=noise_rng)
                            with amp.autocast():
                                fake = G_train(z)
                        g_loss = g_step(D, opt_g, fake, cfg, amp)
                    step += 1
                    batch_in_epoch += 1
                    interval_images += cfg.batch_size
                    meter.add(step, d_loss, g_loss, d_real, d_fake)
                    if batch_in_epoch % cfg.log_every == 0 or batch_in_epoch == steps_per_epoch:
                        record = flush(epoch, time.perf_counter() - interval_start, interval_images)
                        images_trained += interval_images
                        bar.update(batch_in_epoch - bar.n)
                        bar.set_postfix(D=f"{record['d_loss']:.3f}", G=f"{record['g_loss']:.3f}",
                                        Dx=f"{record['d_real']:.2f}", DGz=f"{record['d_fake']:.2f}",
                                        ips=f"{record['img_per_s']:.0f}")
                        interval_start, interval_images = time.perf_counter(), 0
                    if stop.requested:
                        raise KeyboardInterrupt
                bar.close()
                if not progress:  # without a bar, one line per epoch
                    say(f"epoch {epoch + 1}/{cfg.epochs}: " + format_record(record))

                # --- end of epoch: schedules, fixed-z grid, checkpoint, export, plot -----------
                for sched in schedulers:
                    sched.step()
                epoch, batch_in_epoch = epoch + 1, 0
                distributed.average_buffers(G)  # BatchNorm running stats: the mean over the ranks' shards
                distributed.average_buffers(D)
                if not ranks.is_main:
                    continue
                chores_start = time.perf_counter()
                mark_step()  # CUDA graphs: the grid and metrics start a new generation, not the last step's
                grid_path = save_grid(generate(G, fixed_z), run_dir / "samples" / f"epoch_{epoch:03d}.png")
                if cfg.metrics_every and (epoch % cfg.metrics_every == 0 or epoch == cfg.epochs):
                    metrics_start = time.perf_counter()
                    scores = evaluate(G, faces.images, cfg.metrics_samples, metric_names(cfg),
                                      data_key=faces.key, device=device)
                    metric_history.append({"epoch": epoch, "step": step, **scores})
                    append_jsonl(run_dir / "metrics.jsonl", metric_history[-1])
                    say(f"epoch {epoch} metrics: " + ", ".join(
                        f"{k} {v:.4g}" for k, v in scores.items() if k in ("swd_avg", "msssim", "fid", "kid")))
                    spent["metrics"] += time.perf_counter() - metrics_start
                ckpt.save_state(run_dir, snapshot(), cfg.keep_checkpoints)
                ckpt.export_generator(G, run_dir / "generator.safetensors", cfg.to_dict())
                plot_losses(history, run_dir / "losses.png", metric_history)
                for callback in callbacks:
                    callback(EpochEnd(epoch, step, record, grid_path, run_dir, history))
                spent["files"] += time.perf_counter() - chores_start  # (callbacks show the grid: counted here)
    except KeyboardInterrupt:
        if not stop.requested or not ranks.is_main:  # interrupted inside a step: G and D may be half-updated
            print(f"\naborted inside step {step + 1}; the newest checkpoint is left as it was")
            raise
        if batch_in_epoch:
            meter.read()  # the partial interval is not logged; the next one starts clean on resume
        path = ckpt.save_state(run_dir, snapshot(), cfg.keep_checkpoints)
        ckpt.export_generator(G, run_dir / "generator.safetensors", cfg.to_dict())
        print(f"interrupted at step {step}: saved {path}; continue with: facegan train --resume {run_dir}")
        raise
    finally:
        if log_file:
            log_file.close()

    if ranks.world > 1:
        in_sync = distributed.weights_in_sync(G, D)
        say(f"ranks in sync: G and D weights {'identical' if in_sync else 'DIFFER'} on {ranks.world} processes")
        del G_train, D_train  # DDP's reducers must go before their process group (else a rare abort at exit)
        distributed.teardown()
        if not in_sync:
            raise FaceganError("distributed ranks ended with different weights; please report this")
    seconds = time.perf_counter() - run_start
    rate = f", {images_trained * ranks.world / seconds:.0f} img/s" if images_trained else ""  # all processes
    spent["files"] -= spent["metrics"]
    breakdown = (f"{_duration(seconds - spent['files'] - spent['metrics'])} training steps, "
                 f"{_duration(spent['files'])} grids/checkpoints/plots"
                 + (f", {_duration(spent['metrics'])} metrics" if spent["metrics"] else ""))
    say(f"done: {epoch} epochs, {step} steps in {_duration(seconds)}{rate} ({breakdown}). Run {run_dir}: samples/, "
          f"losses.png, log.jsonl, checkpoints/, generator.safetensors. More faces: "
          f"facegan sample --generator {run_dir / 'generator.safetensors'} --out faces.png")
    return run_dir


def _silent(*args, **kwargs) -> None:
    pass


def format_record(record: dict) -> str:
    return (f"D {record['d_loss']:.3f}  G {record['g_loss']:.3f}  D(x) {record['d_real']:.2f}  "
            f"D(G(z)) {record['d_fake']:.2f}  {record['img_per_s']:.0f} img/s")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
