"""Training-state checkpoints (resume).

``checkpoints/state-<step>.pt`` holds everything needed to continue bit-for-bit (weights, EMA weights,
optimisers, schedulers, position in the epoch, RNG states, config, format version). Written atomically;
read back with ``torch.load(weights_only=True)``, which refuses pickled code. The loss history is not in
it (it grows with every step): it is the run's ``log.jsonl``, read back by :func:`read_history`. Older
formats are migrated on load (:func:`migrate`). The generator export is :mod:`facegan.interop.export`.
"""
from __future__ import annotations

import json
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch

from facegan.config import RESUME_CHANGES, TrainConfig
from facegan.errors import FaceganError, first_line
from facegan.fileio import atomic_path, content_digest, load_module_state
from facegan.training.augment import AdaptiveAugment

if TYPE_CHECKING:
    from facegan.training.setup import Parts
    from facegan.training.steps import Position

STATE_FORMAT = "facegan.train_state"
STATE_VERSION = 2  # 2: no loss history (log.jsonl has it), EMA generator, images_seen
_STATE_NAME = re.compile(r"state-(\d+)\.pt$")


def save_state(run_dir: Path, state: dict[str, Any], keep: int) -> Path:
    """Write ``state`` as checkpoints/state-<step>.pt atomically and keep only the newest ``keep``."""
    folder = Path(run_dir) / "checkpoints"
    path = folder / f"state-{state['step']:08d}.pt"
    state = {"format": STATE_FORMAT, "format_version": STATE_VERSION, **state}
    with atomic_path(path) as tmp:
        torch.save({**state, "checksum": content_digest(state)}, tmp)
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink()
    return path


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Training-state files of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    found = [p for p in folder.glob("state-*.pt") if _STATE_NAME.search(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(_STATE_NAME.search(p.name).group(1)))


def load_state(path: Path) -> dict[str, Any]:
    """Read a training-state file safely; anything else gets a one-line explanation."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FaceganError(f"checkpoint {path} not found") from None
    except pickle.UnpicklingError as e:
        raise FaceganError(f"refused to load {path}: it contains pickled objects that are not plain "
                           f"tensors/containers ({first_line(e)})") from None
    except Exception as e:  # truncated zip, not a torch file at all, ...
        raise FaceganError(f"{path} is not a readable checkpoint (truncated or corrupt?): "
                           f"{type(e).__name__}: {first_line(e)}") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise FaceganError(f"{path} is not a facegan training checkpoint")
    checksum = state.pop("checksum", None)  # (checkpoints before issue 42 have none)
    if checksum is not None and checksum != content_digest(state):
        raise FaceganError(f"{path} is damaged: its values do not match the checksum saved with them "
                           f"(a changed byte: a bad copy or a failing disk)")
    if state.get("format_version") not in (1, STATE_VERSION):
        raise FaceganError(f"{path} has checkpoint format {state.get('format_version')}, this facegan "
                           f"reads 1 to {STATE_VERSION}: update facegan to resume it")
    return migrate(state)


def migrate(state: dict[str, Any]) -> dict[str, Any]:
    """Bring a checkpoint of an older format to the current one (the keys the trainer restores).

    Version 1 (before the model registry): the loss history was stored in the state, there was no EMA
    generator, and images were counted as steps x batch (one process). Its config lacks the newer
    fields, whose defaults (dcgan, EMA and augmentation off) are exactly what version 1 trained with.
    """
    if state["format_version"] == 1:
        state = {k: v for k, v in state.items() if k != "history"}
        state.update(format_version=2, generator_ema=None,
                     images_seen=state["step"] * state["config"]["batch_size"])
    return state


def latest_state(run_dir: Path) -> dict[str, Any]:
    """The newest intact checkpoint's state (:func:`resume_point`)."""
    return resume_point(run_dir).state


@dataclass
class ResumePoint:
    """The checkpoint a run resumes from, and the newer ones passed over on the way, with why."""
    path: Path
    state: dict[str, Any]
    skipped: list[tuple[Path, str]]


def resume_point(run_dir: Path, step: int | None = None) -> ResumePoint:
    """The checkpoint of ``step``, or else the newest intact one: newest first, each must load, match its
    checksum, hold the step its name says and the run's config (:func:`checked_state`). None intact: one
    line listing what was tried and why."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FaceganError(f"run directory {run_dir} does not exist")
    found = list_checkpoints(run_dir)
    if not found:
        raise FaceganError(f"{run_dir} has no checkpoints/state-*.pt to resume from")
    config = run_config(run_dir)
    if step is not None:
        chosen = [path for path in found if step_of(path) == step]
        if not chosen:
            raise FaceganError(f"{run_dir} has no checkpoint of step {step}; its checkpoints are of steps "
                               f"{', '.join(str(step_of(path)) for path in found)}")
        return ResumePoint(chosen[0], checked_state(chosen[0], config), [])
    skipped = []
    for path in reversed(found):
        try:
            return ResumePoint(path, checked_state(path, config), skipped)
        except FaceganError as e:
            skipped.append((path, str(e).replace(str(path), path.name)))
    raise FaceganError(f"{run_dir} has no intact checkpoint to resume from; tried " +
                       "; ".join(f"{path.name} ({why})" for path, why in skipped))


def checked_state(path: Path, run_config: dict | None) -> dict[str, Any]:
    """:func:`load_state`, and the state belongs where it lies: its step is its file name's, and its
    config is the run's (``run_config``, from config.json; None: not checked) but for what a resume may
    change (budget, device)."""
    state = load_state(path)
    if state.get("step") != step_of(path):
        raise FaceganError(f"{path} holds step {state.get('step')}, not the step {step_of(path)} its name says "
                           f"(renamed, or copied from elsewhere?)")
    if run_config is not None:
        try:
            ours, theirs = same_run_view(run_config), same_run_view(state["config"])
        except (KeyError, TypeError, ValueError, FaceganError) as e:
            raise FaceganError(f"{path} holds no readable training config ({first_line(e)})") from None
        differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        if differ:
            raise FaceganError(f"{path} was written by another run: its config differs from config.json in "
                               f"{', '.join(differ[:5])}")
    return state


def same_run_view(config: dict) -> dict:
    """A saved config as two checkpoints of one run share it: complete (older formats filled in) and without
    what a resume may change."""
    values = TrainConfig.from_dict(config).to_dict()
    return {k: v for k, v in values.items() if k not in RESUME_CHANGES}


def run_config(run_dir: Path) -> dict | None:
    """The run's config.json as a dict; None when it is missing or unreadable (``verify`` reports that)."""
    try:
        values = json.loads((Path(run_dir) / "config.json").read_text())
        TrainConfig.from_dict(values)
        return values
    except (OSError, ValueError, TypeError, FaceganError):
        return None


def step_of(path: Path) -> int:
    return int(_STATE_NAME.search(path.name).group(1))


def set_aside_newer(point: ResumePoint) -> list[Path]:
    """Move the checkpoints newer than ``point`` (damaged ones, or a later trajectory given up by
    ``--checkpoint``) into checkpoints/set-aside/, kept for inspection: left in place they would count as
    the newest, and pruning to the newest ``keep`` would delete the resumed run's own new checkpoints."""
    newer = [path for path in list_checkpoints(point.path.parent.parent) if step_of(path) > step_of(point.path)]
    folder = point.path.parent / "set-aside"
    moved = []
    for path in newer:
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        n = 1
        while target.exists():  # an earlier resume set one of this name aside already: keep both
            target, n = folder / f"{path.stem}.{n}{path.suffix}", n + 1
        os.replace(path, target)
        moved.append(target)
    return moved


def read_history(run_dir: Path, up_to_step: int | None = None) -> list[dict]:
    """The run's log records (log.jsonl), those with step <= ``up_to_step`` if given."""
    log = Path(run_dir) / "log.jsonl"
    if not log.is_file():
        return []
    records = [parsed for line in log.read_text(errors="replace").splitlines() if (parsed := log_record(line))]
    return [r for r in records if up_to_step is None or r["step"] <= up_to_step]


def log_record(line: str) -> dict | None:
    """One log.jsonl line as a record; None for a blank or torn one (a crash in mid-append leaves half a
    line: a resume drops it, and ``facegan verify`` reports it)."""
    try:
        record = json.loads(line) if line.strip() else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and "step" in record else None


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Restore an optimiser, keeping this build's fused setting: load_state_dict takes the saved
    groups' options, so a checkpoint from before fused Adam would silently turn it off."""
    if "fused" in optimizer.defaults:
        saved = {**saved, "param_groups": [{**g, "fused": optimizer.defaults["fused"]} for g in saved["param_groups"]]}
    optimizer.load_state_dict(saved)


def snapshot(p: Parts, pos: Position, metric_history: list[dict]) -> dict[str, Any]:
    """Everything a checkpoint holds (see checkpoint.py; the loss history is log.jsonl)."""
    return {"config": p.cfg.to_dict(), "generator": p.G.state_dict(), "discriminator": p.D.state_dict(),
            "generator_ema": p.ema.state_dict() if p.ema else None,
            "opt_g": p.opt_g.state_dict(), "opt_d": p.opt_d.state_dict(),
            "schedulers": [s.state_dict() for s in p.schedulers], "loss_scalers": p.amp.state_dict(),
            "epoch": pos.epoch, "batch_in_epoch": pos.batch_in_epoch, "step": pos.step,
            "images_seen": pos.images_seen, "image_in_epoch": pos.image_in_epoch, "side": pos.side,
            "seconds_trained": pos.seconds,
            "perm": pos.perm, "data_rng": pos.data_rng.get_state(),
            "noise_rng": p.rng.get_state(), "device_type": p.device.type, "metric_history": metric_history,
            "augment": p.augment.state_dict() if isinstance(p.augment, AdaptiveAugment) else None}


def restore(p: Parts, pos: Position, state: dict[str, Any], what: str, say: Callable, rng_seed: int = 0) -> None:
    """Load a checkpoint's state into freshly set-up parts and position (``rng_seed``: this rank's,
    under torchrun, whose ranks restart their random streams)."""
    load_module_state(p.G, state["generator"], f"{what} (generator)")
    load_module_state(p.D, state["discriminator"], f"{what} (discriminator)")
    if p.ema and state["generator_ema"] is not None:
        load_module_state(p.ema.average, state["generator_ema"], f"{what} (EMA generator)")
    elif p.ema:  # a run saved without EMA: the average starts from the current G
        p.ema.average.load_state_dict(p.G.state_dict())
    load_optimizer_state(p.opt_g, state["opt_g"])
    load_optimizer_state(p.opt_d, state["opt_d"])
    for sched, saved in zip(p.schedulers, state["schedulers"]):
        sched.load_state_dict(saved)
    p.amp.load_state_dict(state.get("loss_scalers"))
    if isinstance(p.augment, AdaptiveAugment) and state.get("augment") is not None:
        p.augment.load_state_dict(state["augment"])  # ADA's p and its running signs: resumed, not restarted
    pos.data_rng.set_state(state["data_rng"])
    if p.world > 1:  # the checkpoint holds rank 0's stream only: every rank starts a fresh one
        p.rng.manual_seed(rng_seed + state["step"])
    elif state["device_type"] == p.device.type:
        p.rng.set_state(state["noise_rng"])
    else:
        say(f"note: resuming on {p.device.type} after {state['device_type']}: the random stream restarts")
    pos.epoch, pos.batch_in_epoch, pos.step = state["epoch"], state["batch_in_epoch"], state["step"]
    pos.images_seen, pos.perm = state["images_seen"], state["perm"]
    pos.seconds = float(state.get("seconds_trained", 0.0))  # (checkpoints before issue 40 lack it)
    # Checkpoints from before batches could vary by side: every step took cfg.batch_size images per process,
    # and the last one trained at the phase its first image was in (side 0: no step yet, or no growing).
    pos.image_in_epoch = state.get("image_in_epoch", pos.batch_in_epoch * p.cfg.batch_size)
    last_step_start = pos.images_seen - p.cfg.batch_size * p.world
    pos.side = state.get("side", p.schedule.phase_at(last_step_start).resolution if p.schedule and pos.step else 0)
