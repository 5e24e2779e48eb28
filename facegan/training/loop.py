"""The GAN training loop: ``train(cfg)`` -> run directory, for every architecture in the registry.

``train`` reads top to bottom in labelled sections: set-up (processes, data, networks), restore or a new
run directory, the epochs, finish. A step itself (D on real and on fake.detach(), then G through D, then
the EMA generator follows G) is :mod:`facegan.training.steps`, over its two small objects
:class:`~facegan.training.setup.Parts` (networks, optimisers, random streams: what a checkpoint restores)
and :class:`~facegan.training.steps.Position` (where in the run we are); a growing run's phase is
:mod:`facegan.training.schedule`'s. Stats accumulate on the device and are read once per log interval, so a
step never waits for the host. Around the steps this module keeps the logging, the deadline, Ctrl-C, the
per-epoch grid, metrics, checkpoint and export.

Run it from the shell with ``facegan train`` (see ``facegan train --help``).
"""
from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from facegan.config import TrainConfig, batch_table, metric_names
from facegan.data.images import FaceData, load_faces
from facegan.errors import FaceganError
from facegan.evaluation.evaluate import check_face_metrics_apply, evaluate
from facegan.evaluation.metrics import inception_weights_present
from facegan.evaluation.registry import headline, needs_inception
from facegan.fileio import WriteFailed, append_jsonl, atomic_path
from facegan.interop.export import describe_training_data, export_generator
from facegan.latent import generate, sample_latents
from facegan.models.summary import count_parameters
from facegan.training import distributed
from facegan.training import state as ckpt
from facegan.training.amp import resolve as resolve_precision
from facegan.training.plan import Plan, fit_job
from facegan.training.device import describe, pick_device
from facegan.training.runlock import run_lock
from facegan.training.runlog import (Meter, RunRecords, StopRequest, duration, format_record, plural, prepare_run_dir,
                                     reload_history, silent)
from facegan.training.setup import Parts, eager_fallback, setup
from facegan.training.state import restore, snapshot
from facegan.training.steps import Position, epoch_finished, steps_per_epoch, training_steps
from facegan.viz import captioned, grid_image, labelled_grid, plot_losses

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


# ----------------------------------------------------------------------------- the loop's parts
def run_epoch(p: Parts, pos: Position, images: torch.Tensor, meter: Meter, records: RunRecords,
              rank: int, progress: bool, stop: "StopRequest", deadline: float | None, plan: Plan,
              say: Callable) -> tuple[dict, bool]:
    """Train until the epoch ends (or a stop is requested, or the budget is trained, or the deadline would
    pass during the next step); returns the last log record and whether the epoch was completed. Each rank
    trains on its shard of the epoch's permutation."""
    cfg = p.cfg
    # the bar counts images: a growing run's batches may change size with the side
    bar = tqdm(total=steps_per_epoch(p, len(images)) * cfg.batch_size, initial=pos.image_in_epoch,
               desc=f"epoch {pos.epoch + 1}/{cfg.epochs}", unit="img", unit_scale=True, disable=not progress,
               dynamic_ncols=True, leave=True, mininterval=1.0)
    record, interval_start, interval_from = {}, time.perf_counter(), pos.image_in_epoch
    step_start = time.perf_counter()
    for stats in training_steps(p, pos, images, rank):
        meter.add(pos.step, stats)
        now = time.perf_counter()
        step_seconds = plan.step_seconds = now - step_start
        interval_done = pos.batch_in_epoch % cfg.log_every == 0
        line = plan.observe(pos.images_seen) if rank == 0 else None
        if line:
            (bar.write if progress else say)(line)
        if p.world == 1:  # stop before a step that would end past the deadline: the limit holds within a step
            out_of_time = deadline is not None and now + step_seconds > deadline
        else:  # checked at log intervals, with rank 0's clock deciding, so every rank stops at the same step
            out_of_time = interval_done and deadline is not None and distributed.broadcast_object(now > deadline)
        trained = budget_trained(cfg, pos)
        if interval_done or epoch_finished(p, pos, len(images)) or out_of_time or trained:
            interval_images = pos.image_in_epoch - interval_from  # this process's
            record = log_interval(pos, meter, records, time.perf_counter() - interval_start, interval_images, p.world,
                                  growth_phase(p))
            records.images_trained += interval_images
            bar.update(pos.image_in_epoch - bar.n)
            left = plan.seconds_to_go(pos.images_seen)
            bar.set_postfix(**{k: f"{v:.3f}" for k, v in record.items() if k.endswith("_loss")},
                            ips=f"{record['img_per_s']:.0f}", **({"run_left": duration(left)} if left is not None else {}))
            interval_start, interval_from = time.perf_counter(), pos.image_in_epoch
        if stop.requested:
            raise KeyboardInterrupt
        if out_of_time or trained:
            break
        step_start = time.perf_counter()  # the logging above is not the next step's time
    bar.close()
    return record, epoch_finished(p, pos, len(images))


def log_interval(pos: Position, meter: Meter, records: RunRecords, seconds: float, images: int, world: int,
                 phase: dict | None = None) -> dict:
    """Read the device-side meter once; stop on a non-finite loss; log a JSON line (with the growth
    ``phase``, {"resolution", "alpha"}, when the run grows)."""
    stats, first_bad = meter.read()
    if first_bad >= 0:
        last = ckpt.list_checkpoints(records.run_dir)
        losses = ", ".join(f"{k} {v:.4g}" for k, v in stats.items() if k.endswith("_loss"))
        raise FaceganError(f"non-finite loss at step {first_bad} ({losses}); training stopped, last good "
                           f"checkpoint: {last[-1] if last else 'none yet'}. Try lower learning rates or "
                           "--precision fp32")
    record = {"step": pos.step, "epoch": pos.epoch + 1, **(phase or {}), **stats,
              "img_per_s": images * world / max(seconds, 1e-9)}  # all processes together
    records.log(record)
    return record


def growth_phase(p: Parts) -> dict | None:
    """The side G and D train at and its fade-in, for log lines and grids (None when the run does not grow)."""
    return {"resolution": p.G.phase_resolution, "alpha": round(p.G.alpha, 4)} if p.schedule else None


def save_sample_grid(p: Parts, faces: torch.Tensor, path: Path, caption: str) -> Path:
    """The fixed-z grid (N, C, R, R) over ``caption``; a growing run's is labelled with its phase (its faces
    are drawn at the phase's side and shown upsampled to full size)."""
    phase = growth_phase(p)
    if phase is None:
        figure = grid_image(faces)
    else:
        figure = labelled_grid(faces, math.ceil(math.sqrt(len(faces))),
                               [f"{phase['resolution']} px", f"a {phase['alpha']:.2f}"], label_width=44)
    with atomic_path(path) as tmp:
        captioned(figure, caption).save(tmp, format="PNG")
    return Path(path)


def grid_caption(label: int, pos: Position, data: str | None) -> str:
    """What a per-epoch grid shows: how far the run is and what it learns from (built-in faces name the
    command that gets real ones)."""
    learnt = f", learnt from {describe_training_data(data)}" if data else ""
    return f"epoch {label}, {pos.images_seen:,} images seen{learnt}"


def end_epoch(p: Parts, pos: Position) -> None:
    """Learning-rate schedules, epoch counter, BatchNorm statistics averaged over the ranks."""
    for sched in p.schedulers:
        sched.step()
    pos.epoch, pos.batch_in_epoch, pos.image_in_epoch = pos.epoch + 1, 0, 0
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
    grid_path = save_sample_grid(p, generate(p.sampler, fixed_z), run_dir / "samples" / f"epoch_{label:03d}.png",
                                 grid_caption(label, pos, records.data))
    if cfg.metrics_every and (label % cfg.metrics_every == 0 or final):
        metrics_start = time.perf_counter()
        scores = evaluate(p.sampler, faces.images, cfg.metrics_samples, metric_names(cfg), data_key=faces.key,
                          device=p.device)
        records.metric_history.append({"epoch": label, "step": pos.step, **scores})
        append_jsonl(run_dir / "metrics.jsonl", records.metric_history[-1])
        say(f"epoch {label} metrics: " + ", ".join(f"{k} {v:.4g}" for k, v in headline(scores).items()))
        records.seconds["metrics"] += time.perf_counter() - metrics_start
    save(p, pos, records)
    plot_losses(records.history, run_dir / "losses.png", records.metric_history)
    for callback in callbacks:
        callback(EpochEnd(label, pos.step, record, grid_path, run_dir))
    records.seconds["chores"] += time.perf_counter() - start  # (callbacks show the grid: counted here)


def save(p: Parts, pos: Position, records: RunRecords) -> Path:
    """The one save path (epoch end, time limit, Ctrl-C): checkpoint, then the generator export."""
    pos.seconds = records.seconds_before + time.perf_counter() - records.started  # a resumed run's limit counts on
    path = ckpt.save_state(records.run_dir, snapshot(p, pos, records.metric_history), p.cfg.keep_checkpoints)
    export_generator(p.sampler, records.run_dir / "generator.safetensors", p.cfg.to_dict(),
                     source={"trained_on": records.data} if records.data else None)
    return path


def resume_config(run_dir: str | Path, epochs: int | None = None, device: str | None = None,
                  minutes: float | None = None, kimg: float | None = None, checkpoint: int | None = None) -> TrainConfig:
    """The config a run was trained with (that of its checkpoint of step ``checkpoint``, else its newest
    intact one), with only its budget (epochs, minutes, kimg) or device changed."""
    values = ckpt.resume_point(run_dir, checkpoint).state["config"]
    changes = {"epochs": epochs, "device": device, "minutes": minutes, "kimg": kimg}
    values.update({k: v for k, v in changes.items() if v is not None})
    return TrainConfig.from_dict(values)


# ----------------------------------------------------------------------------- the loop
def train(cfg: TrainConfig, run_dir: str | Path | None = None, resume: str | Path | None = None,
          callbacks: list[Callback] = (), progress: bool = True, faces: FaceData | None = None,
          checkpoint: int | None = None) -> Path:
    """Train ``cfg.arch`` as ``cfg`` says and return the run directory.

    ``resume``: a run directory; training continues from its newest intact checkpoint, or that of step
    ``checkpoint`` (``cfg.epochs`` may be larger than before). ``faces``: already-loaded data (else
    ``cfg.data`` is loaded). The run directory is locked while it trains (one writer: runlock.py).
    Ctrl-C saves a checkpoint, then re-raises KeyboardInterrupt. A write that fails (a full disk) stops the
    run with one FaceganError line naming the file and the intact checkpoint to resume from.
    """
    with contextlib.ExitStack() as held:  # the run's lock, released however train ends
        try:
            return train_run(cfg, run_dir, resume, checkpoint, callbacks, progress, faces, held)
        except WriteFailed as e:
            raise stopped_by_write(e, cfg, resume) from None


def train_run(cfg: TrainConfig, run_dir: str | Path | None, resume: str | Path | None, checkpoint: int | None,
              callbacks: list[Callback], progress: bool, faces: FaceData | None, held: contextlib.ExitStack) -> Path:
    """:func:`train`'s body."""
    # --- set-up: processes, data, networks -------------------------------------------------------
    ranks, device = distributed.setup(pick_device(cfg.device))
    say = functools.partial(print, flush=True) if ranks.is_main else silent  # rank 0 alone; flushed for logs
    resumed = resumable_state(cfg, resume, checkpoint, ranks.is_main, held, say)
    run_dir = Path(resume) if resumed is not None else run_dir
    progress = progress and ranks.is_main
    announce(cfg, device, ranks, say)
    faces = training_data(cfg, faces, ranks.world, progress, say)
    if cfg.fit_minutes and resumed is None and ranks.world == 1:
        cfg, faces = fit_job(cfg, faces, device, say)  # a few throwaway steps: does the job fit this machine?
    rng_seed = cfg.seed + 1 + 7919 * ranks.rank  # each rank its own z, flips, augmentation, GP mixing
    p = setup(cfg, faces.channels, faces.resolution, device, say, ranks.world, rng_seed, resuming=resumed is not None)
    pos = Position(torch.Generator().manual_seed(cfg.seed))

    # --- restore, or start a new run directory ------------------------------------------------------
    if resumed is not None:
        restore(p, pos, resumed, f"checkpoint of {run_dir}", say, rng_seed)
        say(f"resuming {run_dir} at epoch {pos.epoch + 1}, step {pos.step}")
    run_dir = prepare_run_dir(cfg, run_dir, resumed, ranks.is_main, held)
    records = RunRecords(run_dir, writes=ranks.is_main, data=faces.source)
    if resumed is not None:
        reload_history(records, pos.step)
        records.metric_history = resumed["metric_history"]
    adaptive = (f" (adaptive: ADA target {cfg.ada_target:g}, {cfg.ada_kimg:g}k images from p 0 to 1)"
                if cfg.ada_target else "")
    say(f"models: G {count_parameters(p.G):,} parameters, D {count_parameters(p.D):,}"
        f"{f', EMA half-life {cfg.ema_kimg:g}k images' if p.ema else ''}"
        f"{f', DiffAugment {cfg.augment}{adaptive}' if cfg.augment else ''}; run dir: {run_dir}")
    images = faces.images.to(device)  # (N, C, R, R) uint8, resident on the device
    p.G_train, p.D_train = distributed.wrap(p.G, device), distributed.wrap(p.D, device)  # DDP under torchrun
    fixed_z = sample_latents(cfg.grid_size, cfg.latent_dim, GRID_SEED)
    meter = Meter(device)

    # --- epochs -------------------------------------------------------------------------------------
    records.started, records.seconds_before = time.perf_counter(), pos.seconds
    seconds_left = time_left(cfg, pos, run_dir) if cfg.minutes else None
    if resumed is not None and seconds_left is not None:
        say(f"{duration(seconds_left)} of its {cfg.minutes:g} min time limit left")
    deadline = records.started + seconds_left if seconds_left is not None else None
    plan = Plan(cfg, steps_per_epoch(p, len(images)) * cfg.batch_size * ranks.world, seconds_left, faces.source)
    stop = StopRequest(enabled=ranks.world == 1)
    timed_out = False
    try:
        with stop, eager_fallback(cfg.compile):
            while pos.epoch < cfg.epochs and not timed_out and not budget_trained(cfg, pos):
                record, completed = run_epoch(p, pos, images, meter, records, ranks.rank, progress, stop, deadline,
                                              plan, say)
                label = pos.epoch + 1
                if completed:
                    end_epoch(p, pos)
                # Cut inside the epoch, or out of time at its end: an epoch shorter than log_every steps
                # has no log interval, where run_epoch checks the deadline. Rank 0's clock decides.
                timed_out = (not completed and not budget_trained(cfg, pos)) or (
                    deadline is not None and pos.epoch < cfg.epochs
                    and distributed.broadcast_object(time.perf_counter() + plan.step_seconds > deadline))
                final = timed_out or pos.epoch == cfg.epochs or budget_trained(cfg, pos)
                if not progress:  # without a bar, one line per epoch, with the run's time left
                    left = plan.seconds_to_go(pos.images_seen)
                    say(f"epoch {label}/{cfg.epochs}{' (time limit)' if timed_out else ''}: " + format_record(record)
                        + (f", about {duration(left)} left" if left is not None and not final else ""))
                if ranks.is_main:
                    epoch_chores(p, pos, records, faces, fixed_z, label, final, record, callbacks, say)
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
    finish(p, pos, records, ranks, time.perf_counter() - records.started, timed_out, say)
    return run_dir


def stopped_by_write(error: WriteFailed, cfg: TrainConfig, resume: str | Path | None) -> FaceganError:
    """The one line for a run stopped by a failed write (a full disk): what could not be written, that the
    newest checkpoint is intact (every write is atomic: the failed one replaced nothing), and how to go on."""
    run_dir = Path(resume) if resume else next(
        (parent for parent in error.path.parents if parent.parent == Path(cfg.runs_dir)), None)
    kept = ckpt.list_checkpoints(run_dir) if run_dir is not None else []
    if not kept:
        return FaceganError(f"{error}; the run stopped before its first checkpoint: free some space and start it again")
    return FaceganError(f"{error}; the run stopped, its newest checkpoint {kept[-1].name} is intact: free some space "
                        f"(or copy {run_dir} to a disk with room) and continue with: facegan train --resume {run_dir}")


def resumable_state(cfg: TrainConfig, resume: str | Path | None, checkpoint: int | None, is_main: bool,
                    held: contextlib.ExitStack, say: Callable) -> dict | None:
    """The state to resume from (None for a new run): the run locked (rank 0), its checkpoint of step
    ``checkpoint`` or else its newest intact one (damaged newer ones named and set aside), if it has some
    of its budget left."""
    if not resume:
        return None
    if is_main:
        held.enter_context(run_lock(resume))
    point = ckpt.resume_point(resume, checkpoint)
    resumed = point.state
    if cfg.kimg and resumed["images_seen"] >= cfg.kimg * 1000:
        raise FaceganError(f"{resume} has already trained {resumed['images_seen'] / 1000:g}k images, its budget of "
                           f"{cfg.kimg:g}k; pass --kimg N with N > {resumed['images_seen'] / 1000:g} to continue")
    if cfg.epochs <= resumed["epoch"]:
        raise FaceganError(f"{resume} has already trained {plural(resumed['epoch'], 'epoch')}; "
                           f"pass --epochs N with N > {resumed['epoch']} to continue")
    moved = ckpt.set_aside_newer(point) if is_main else []
    if point.skipped or moved:  # one line: what was used, what was passed over and why, where it went
        skipped = "".join(f"; skipped: {why}" for _, why in point.skipped)
        kept = f"; the newer checkpoints are kept in {moved[0].parent}" if moved else ""
        say(f"resuming from {point.path.name}{skipped}{kept}")
    return resumed


def budget_trained(cfg: TrainConfig, pos: Position) -> bool:
    """Whether the run has trained its budget of images (``cfg.kimg``; 0: no budget)."""
    return bool(cfg.kimg) and pos.images_seen >= cfg.kimg * 1000


def time_left(cfg: TrainConfig, pos: Position, run_dir: Path) -> float:
    """Seconds of cfg.minutes the run has left (a resumed run has used pos.seconds of them)."""
    left = cfg.minutes * 60 - pos.seconds
    if left <= 0:
        raise FaceganError(f"{run_dir} has used its time limit of {cfg.minutes:g} min ({duration(pos.seconds)} "
                           f"trained); give it more with: facegan train --resume {run_dir} --minutes N "
                           f"(N > {pos.seconds / 60:.1f}), or --minutes 0 for no limit")
    return left


def announce(cfg: TrainConfig, device: torch.device, ranks, say: Callable) -> None:
    """The run's first lines: device, preset, architecture, batch, budget, precision, processes."""
    precision, note = resolve_precision(cfg.precision, device)
    say(f"device: {describe(device)} | preset: {cfg.preset} | {cfg.arch} | batch {cfg.batch_size} "
        f"| {plural(cfg.epochs, 'epoch')}{f' or {cfg.minutes:g} min' if cfg.minutes else ''} | {precision}"
        f"{' (auto)' if cfg.precision == 'auto' else ''}{' + channels_last' if cfg.channels_last else ''}")
    if note:
        say(note)
    if cfg.grow_from:
        say(f"growing: {cfg.grow_from} px up to {cfg.resolution} px, {cfg.fade_kimg:g}k images per fade-in and "
            f"{cfg.stable_kimg:g}k per stable phase{', Adam reset at each new side' if cfg.grow_reset_adam else ''}"
            + (f"; batch by side {cfg.batch_by_side}" if cfg.batch_by_side else ""))
    if ranks.world > 1:
        say(f"distributed: {ranks.world} processes x batch {cfg.batch_size} = effective batch "
            f"{ranks.world * cfg.batch_size}; each rank trains on 1/{ranks.world} of every epoch "
            f"(DistributedDataParallel, {distributed.backend()})")


def training_data(cfg: TrainConfig, faces: FaceData | None, world: int, progress: bool, say: Callable) -> FaceData:
    """The data to train on (``faces`` or ``cfg.data`` loaded), checked now rather than after an epoch:
    the metrics can run on it, and every process gets at least one batch per epoch."""
    if cfg.metrics_every and needs_inception(metric_names(cfg)):
        inception_weights_present()  # fail now, not after the first epoch, when FID cannot run
    faces = faces or load_faces(cfg.data, cfg.synthetic_count, cfg.cache_dir, progress, cfg.resolution, cfg.channels)
    if cfg.metrics_every:
        check_face_metrics_apply(faces.channels, faces.resolution)  # now, not after the first epoch
    if cfg.flip and "digit" in faces.attributes:
        say("note: --flip mirrors digits, which makes other glyphs of them; the digits preset trains with --no-flip")
    per_epoch = len(faces) // world // cfg.batch_size
    largest = max([cfg.batch_size, *batch_table(cfg.batch_by_side).values()])
    if len(faces) // world < largest:
        raise FaceganError(f"the data has {len(faces)} images, fewer than one batch of {largest} per "
                           "process; lower --batch-size (or --batch-by-side) or add images")
    say(f"data: {faces.source} ({faces.channels}x{faces.resolution}x{faces.resolution}); "
        f"{per_epoch} steps of {cfg.batch_size} per epoch")
    return faces


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
    if timed_out:
        ended = f"time limit of {p.cfg.minutes:g} min reached after {plural(pos.epoch, 'full epoch')}"
    elif budget_trained(p.cfg, pos):
        ended = f"{p.cfg.kimg:g}k images trained ({plural(pos.epoch, 'full epoch')})"
    else:
        ended = plural(pos.epoch, "epoch")
    export = records.run_dir / "generator.safetensors"
    say(f"done: {ended} of {describe_training_data(records.data)}, {plural(pos.step, 'step')} in {duration(seconds)}{rate} ({breakdown}). "
        f"Run {records.run_dir}: samples/, losses.png, log.jsonl, checkpoints/, generator.safetensors"
        f"{' (EMA)' if p.ema else ''}. More samples: facegan sample --generator {export} --out samples.png")
