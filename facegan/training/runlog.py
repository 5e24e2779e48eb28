"""A run's bookkeeping: its numbered directory, its logs (log.jsonl, metric records, where the time
went), the device-side stat meter, and Ctrl-C handling. The training loop (training.py) uses these;
nothing here touches the networks.
"""
from __future__ import annotations

import contextlib
import json
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from facegan.config import TrainConfig
from facegan.fileio import append_jsonl, write_text_atomic
from facegan.training import distributed
from facegan.training import state as ckpt
from facegan.training.runlock import run_lock


def prepare_run_dir(cfg: TrainConfig, run_dir: str | Path | None, resumed: dict | None, is_main: bool,
                    held: contextlib.ExitStack) -> Path:
    """A new numbered run directory (or the given / resumed one), the same on every rank, locked by rank 0
    into ``held`` before anything is written (a resumed one is locked already); config.json."""
    if is_main and resumed is None:
        run_dir = Path(run_dir) if run_dir else new_run_dir(cfg.runs_dir, cfg.name)
        run_dir.mkdir(parents=True, exist_ok=True)
        held.enter_context(run_lock(run_dir))
    run_dir = Path(distributed.broadcast_object(str(run_dir)))
    if is_main:
        write_text_atomic(run_dir / "config.json", cfg.to_json() + "\n")
        (run_dir / "samples").mkdir(exist_ok=True)
    return run_dir


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


def reload_history(records: RunRecords, step: int) -> None:
    """On resume: the loss records up to the checkpoint's step, from log.jsonl (later lines came from
    steps the checkpoint does not hold, and are dropped from the file too)."""
    records.history = ckpt.read_history(records.run_dir, step)
    if records.writes:
        write_text_atomic(records.run_dir / "log.jsonl", "".join(json.dumps(r) + "\n" for r in records.history))


class Meter:
    """Running sums of named stats (0-d tensors) kept on the device; read once per interval.

    A new stat is one more key in what the steps return. Also remembers the first step whose losses
    (the stats named ``*_loss``) were not finite, without a host sync per step.
    """

    def __init__(self, device: torch.device):
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)

    def add(self, step: int, stats: dict[str, torch.Tensor]) -> None:
        for name, value in stats.items():
            self.sums[name] = self.sums[name] + value.float() if name in self.sums else value.float().clone()
        self.count += 1
        losses = torch.stack([v for k, v in stats.items() if k.endswith("_loss")])
        bad = ~torch.isfinite(losses).all()
        self.first_bad = torch.where(bad & (self.first_bad < 0), torch.full_like(self.first_bad, step), self.first_bad)

    def read(self) -> tuple[dict[str, float], int]:
        """(mean of each stat since the last read, over the ranks too; first bad step or -1)."""
        names = list(self.sums)  # empty when nothing was added since the last read
        means = (distributed.reduce_(torch.stack([self.sums[k] for k in names]) / self.count).tolist()
                 if names else [])
        first_bad = int(distributed.reduce_(self.first_bad.clone(), "max"))
        self.sums, self.count = {}, 0
        return dict(zip(names, means)), first_bad


@dataclass
class RunRecords:
    """The run directory's logs: loss records (log.jsonl, also kept in memory for the plot), metric
    records, and where the time went. Only rank 0 writes."""
    run_dir: Path
    writes: bool
    history: list[dict] = field(default_factory=list)
    metric_history: list[dict] = field(default_factory=list)
    seconds: dict = field(default_factory=lambda: {"chores": 0.0, "metrics": 0.0})  # at epoch ends
    images_trained: int = 0  # images in logged intervals (for the done line's img/s)
    data: str = ""  # what the run learns from (FaceData.source), recorded in its export
    started: float = 0.0  # perf_counter when this process's training began
    seconds_before: float = 0.0  # wall time the run trained before this process (restored on resume)

    def log(self, record: dict) -> None:
        self.history.append(record)
        if self.writes:
            append_jsonl(self.run_dir / "log.jsonl", record)


class StopRequest:
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


def silent(*args, **kwargs) -> None:
    pass


def plural(n: int, noun: str) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_record(record: dict) -> str:
    """One human line of a log record: every stat it has, then img/s."""
    names = {"d_loss": "D", "g_loss": "G", "d_real": "D(x)", "d_fake": "D(G(z))", "augment_p": "p(augment)"}
    parts = [f"{v} px" if k == "resolution" else
             f"{names.get(k, k)} {v:.3f}" if k.endswith("_loss") else f"{names.get(k, k)} {v:.2f}"
             for k, v in record.items() if k not in ("step", "epoch", "img_per_s")]
    return "  ".join(parts + [f"{record['img_per_s']:.0f} img/s"])


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
