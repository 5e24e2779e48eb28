"""How much a run trains and how long that takes on this machine: measured in its first seconds, said in one
line, and a smaller job when the whole one would take too long.

- ``Pace`` measures images per second on a run's own steps (after ``WARMUP_STEPS``, for at least
  ``MEASURE_SECONDS``); ``Plan`` then says once what the run will train, for about how long here, and how to change that; afterwards it
  gives the time left for the per-epoch lines. A run stops at its budget (``kimg``), its epochs or its time
  limit, whichever comes first: the plan says which.
- ``fit_job``: with ``cfg.fit_minutes`` set (the quick preset: 15), a few throwaway steps measure the machine
  before the run starts, and a job that would take longer is scaled down: 32 px instead of 64 (4x fewer
  pixels per image), then fewer images. The run itself starts from its seed as if nothing had been measured
  (``setup`` reseeds the networks; the throwaway parts and their random streams are dropped).
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable

import torch

from facegan.config import TrainConfig
from facegan.data.images import FaceData, resize_square
from facegan.training.runlog import duration, silent
from facegan.training.setup import setup
from facegan.training.steps import Position, training_steps

WARMUP_STEPS = 5  # the first steps set up kernels and memory: not the machine's pace
MEASURE_SECONDS = 5.0
FIT_SIDE = 32  # the side a too-slow 64 px job is scaled down to
MIN_FIT_KIMG = 20.0  # below this many images the quick DCGAN draws no faces: a slower machine waits instead


def budget_images(cfg: TrainConfig, images_per_epoch: int) -> int:
    """Images the run trains on in all when neither its time limit nor Ctrl-C stops it."""
    by_epochs = cfg.epochs * images_per_epoch
    return min(by_epochs, round(cfg.kimg * 1000)) if cfg.kimg else by_epochs


def first_limit(cfg: TrainConfig, images_per_epoch: int) -> str:
    """What ends the run's work first, as words: its budget of images or its epochs."""
    if cfg.kimg and cfg.kimg * 1000 <= cfg.epochs * images_per_epoch:
        return f"a budget of {cfg.kimg:g}k images"
    return f"{cfg.epochs} epochs"


@dataclasses.dataclass
class Pace:
    """Images per second of a run's steps: measured after its first ``WARMUP_STEPS`` over ``MEASURE_SECONDS``
    (``measured``), then kept up to date (``current``). Used by the plan line and by the throwaway measurement
    alike."""
    steps: int = 0
    started: float | None = None  # perf_counter when the measurement began
    start_images: int = 0  # images seen then
    latest_images: int = 0  # images seen at the last step observed
    measured: float | None = None

    def observe(self, images_seen: int) -> bool:
        """After each step; True at the step that completes the first measurement."""
        self.steps, self.latest_images = self.steps + 1, images_seen
        if self.measured is not None:
            return False
        if self.steps == WARMUP_STEPS:
            self.started, self.start_images = time.perf_counter(), images_seen
        elif self.started is not None and self.elapsed() >= MEASURE_SECONDS:
            self.measured = self.current()
            return True
        return False

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.perf_counter() - self.started

    def current(self) -> float:
        """The pace since the measurement began (machines speed up and slow down)."""
        return (self.latest_images - self.start_images) / max(self.elapsed(), 1e-9)


@dataclasses.dataclass
class Plan:
    cfg: TrainConfig
    images_per_epoch: int  # all processes together
    seconds_left: float | None  # of the time limit (None: no limit)
    data: str  # what the run learns from, for the plan line
    pace: Pace = dataclasses.field(default_factory=Pace)
    created: float = dataclasses.field(default_factory=time.perf_counter)  # when the run's steps began
    step_seconds: float = 0.0  # the last step's duration: the deadline stops a run before a step would pass it

    def observe(self, images_seen: int) -> str | None:
        """After each step: the plan line once the pace is measured, else None."""
        return self.line(images_seen) if self.pace.observe(images_seen) else None

    def seconds_to_go(self, images_seen: int) -> float | None:
        """Estimated training seconds left (the time limit's cap included) at the pace so far, None before the
        pace is known."""
        if self.pace.measured is None:
            return None
        left = max(0, budget_images(self.cfg, self.images_per_epoch) - images_seen) / max(self.pace.current(), 1e-9)
        if self.seconds_left is None:
            return left
        return min(left, max(0.0, self.seconds_left - (time.perf_counter() - self.created)))

    def line(self, images_seen: int) -> str:
        cfg, total, rate = self.cfg, budget_images(self.cfg, self.images_per_epoch), self.pace.measured
        steps = math.ceil(max(0, total - images_seen) / cfg.batch_size)
        need = max(0, total - images_seen) / rate
        text = (f"plan: {total / 1000:g}k images ({first_limit(cfg, self.images_per_epoch)}) of {self.data}, "
                f"{steps:,} more steps of {cfg.batch_size}: about {duration(need)} here at {rate:.0f} img/s")
        if self.seconds_left is not None and need > self.seconds_left:
            text += (f", so the time limit ({duration(self.seconds_left)} left) ends it after about "
                     f"{rate * self.seconds_left / 1000:.0f}k")
        return text + "; shorter or longer: --kimg N, a time limit: --minutes N"


def measure_speed(cfg: TrainConfig, faces: FaceData, device: torch.device) -> float:
    """Images per second of ``cfg``'s training steps on this machine (``Pace``), from throwaway networks."""
    p = setup(cfg, faces.channels, faces.resolution, device, silent)
    pos = Position(torch.Generator().manual_seed(cfg.seed))
    images, pace = faces.images.to(device), Pace()
    while True:
        for _ in training_steps(p, pos, images):
            if pace.observe(pos.images_seen):
                return pace.measured
        pos.batch_in_epoch = pos.image_in_epoch = 0  # another pass over a small data set


def fit_job(cfg: TrainConfig, faces: FaceData, device: torch.device,
            say: Callable[..., None]) -> tuple[TrainConfig, FaceData]:
    """``cfg`` and ``faces`` as they are when the job fits in cfg.fit_minutes on this machine, else a smaller
    job that does (32 px, then fewer images, not below MIN_FIT_KIMG), said in one line."""
    images_per_epoch = len(faces) // cfg.batch_size * cfg.batch_size
    total = budget_images(cfg, images_per_epoch)
    rate = measure_speed(cfg, faces, device)
    minutes = total / rate / 60
    if minutes <= cfg.fit_minutes:
        return cfg, faces
    was = f"{total / 1000:g}k images at {faces.resolution} px would take about {minutes:.0f} min here ({rate:.0f} img/s)"
    if faces.resolution > FIT_SIDE:
        cfg = dataclasses.replace(cfg, resolution=FIT_SIDE)
        faces = dataclasses.replace(faces, images=resize_square(faces.images, FIT_SIDE),
                                    source=f"{faces.source}, at {FIT_SIDE} px", key=faces.key and f"{faces.key}-r{FIT_SIDE}")
        rate = measure_speed(cfg, faces, device)
        minutes = total / rate / 60
    if minutes > cfg.fit_minutes:
        kimg = max(MIN_FIT_KIMG, cfg.fit_minutes * 60 * rate / 1000)
        cfg = dataclasses.replace(cfg, kimg=round(kimg, 1))
    say(f"scaled down: {was}, more than --fit-minutes {cfg.fit_minutes:g}; training "
        f"{budget_images(cfg, images_per_epoch) / 1000:g}k images at "
        f"{faces.resolution} px instead (the whole job: --fit-minutes 0)")
    return cfg, faces
