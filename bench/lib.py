"""What every bench script shares, so that all of them time the same thing the same way:

- on import, this checkout's ``facegan`` first on ``sys.path`` (checked: a script never times an
  installed copy of another tree by accident);
- one timer (:class:`Stopwatch`, :func:`call_times`, :func:`percentiles`, :func:`images_per_second`);
- the trainer's step loop (:class:`TrainerSteps`: ``facegan.training.steps.training_steps`` epoch after
  epoch, with a steps and/or a wall-clock budget);
- the real-faces protocol's arguments (:func:`add_protocol_arguments`, :func:`protocol_faces`);
- :func:`record`, which writes every result file with the commit, machine and command it came from.

Every script in bench/ starts with ``import lib`` (a script's own folder, bench/, is ``sys.path[0]``).
From the shell: ``python bench/lib.py check`` says which facegan the bench runs, and
``python bench/lib.py record OUT.jsonl -- COMMAND ...`` runs a command (a bench shell script) and
appends its output to OUT with the same provenance.
"""
from __future__ import annotations

import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent  # the repository this bench/ belongs to
REAL_FACES = Path("/tmp/facegan-real")  # where bench/real_faces.sh extracts train/ (11,000) and holdout/ (1,000)


def use_checkout() -> None:
    """Put the repository root first on sys.path and check that ``facegan`` imports from it: with an
    installed facegan of another tree (or a stale editable install) a bench would time that copy."""
    sys.path.insert(0, str(ROOT))
    import facegan

    where = Path(facegan.__file__).resolve().parent
    if where != ROOT / "facegan":
        raise SystemExit(f"bench: facegan imports from {where}, not from this checkout's {ROOT / 'facegan'}; "
                         "run the bench with nothing else named facegan imported first")


use_checkout()

import torch  # noqa: E402

if TYPE_CHECKING:
    from facegan.config import TrainConfig


# ----------------------------------------------------------------------------- the timer
def _sync(device: torch.device | None) -> None:
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


class Stopwatch:
    """Wall-clock seconds since it was started. On a CUDA device it synchronises at the start and when
    read (:meth:`seconds`), so kernels still queued count: CUDA runs asynchronously, and without the
    synchronisation a timing measures only their launch. :meth:`peek` reads without synchronising (a
    budget checked every step must not add a synchronisation per step)."""

    def __init__(self, device: torch.device | None = None):
        self.device = device
        _sync(device)
        self.start = time.perf_counter()

    def peek(self) -> float:
        return time.perf_counter() - self.start

    def seconds(self) -> float:
        _sync(self.device)
        return time.perf_counter() - self.start


def call_times(fn: Callable[[], object], repeats: int, warmup: int = 1,
               device: torch.device | None = None) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn``, after ``warmup`` untimed ones (the first call
    pays for allocation, lazy initialisation and, with torch.compile, compilation)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        watch = Stopwatch(device)
        fn()
        times.append(watch.seconds())
    return times


def images_per_second(step: Callable[[], object], steps: int, batch: int, device: torch.device | None = None) -> float:
    """Training img/s of ``steps`` calls of ``step`` (one batch each), timed together: one
    synchronisation per window, not per step, as a training run has."""
    watch = Stopwatch(device)
    for _ in range(steps):
        step()
    return batch * steps / watch.seconds()


def percentiles(values: Iterable[float], digits: int | None = 1) -> dict[str, float]:
    """p50 (median), p95 (nearest rank), min and max of ``values``, rounded to ``digits`` (None: to int)."""
    ordered = sorted(values)
    out = {"p50": statistics.median(ordered), "p95": ordered[math.ceil(0.95 * len(ordered)) - 1],
           "min": ordered[0], "max": ordered[-1]}
    return {k: round(v) if digits is None else round(v, digits) for k, v in out.items()}


# ----------------------------------------------------------------------------- the step loop
class TrainerSteps:
    """facegan's training steps exactly as ``facegan train`` takes them: ``training_steps`` (the step
    iterator the trainer drives) epoch after epoch, the trainer's ``end_epoch`` right after each
    epoch's last step, inside its ``eager_fallback``, on networks and optimisers from its ``setup``.
    The benches that time or score training (throughput, cpu_precision, step_profile,
    stylegan2_speed, time_to_quality) all go through this, so they time the trainer's work, not a
    copy of it. ``images``: uint8 (N, C, R, R), moved to the device once (as the trainer keeps them).
    Stats stay on the device: the loss sums in ``losses`` never make a step wait for the host."""

    def __init__(self, cfg: TrainConfig, images: torch.Tensor, device: torch.device | str | None = None,
                 say: Callable[..., None] = print):
        from facegan.training.setup import setup  # imported here: lib's import stays light
        from facegan.training.steps import Position, steps_per_epoch

        self.cfg = cfg
        self.device = torch.device(device if device is not None else cfg.device)
        self.images = images.to(self.device)
        self.parts = setup(cfg, images.shape[1], images.shape[-1], self.device, say)
        self.position = Position(torch.Generator().manual_seed(cfg.seed))
        self.per_epoch = steps_per_epoch(self.parts, len(images))
        if self.per_epoch == 0:
            raise SystemExit(f"bench: {len(images)} images are fewer than one batch of {cfg.batch_size}")
        self.losses = torch.zeros(2, device=self.device)
        self._epoch = None  # the running epoch's training_steps iterator

    @property
    def G(self) -> torch.nn.Module:
        return self.parts.G

    @property
    def D(self) -> torch.nn.Module:
        return self.parts.D

    @property
    def precision(self) -> str:
        return self.parts.amp.precision

    def step(self) -> dict[str, torch.Tensor]:
        """One training step; the epoch it ends is closed as the trainer closes it (``end_epoch``:
        learning-rate schedules, epoch counter, the EMA's BatchNorm statistics)."""
        from facegan.training.loop import end_epoch
        from facegan.training.setup import eager_fallback
        from facegan.training.steps import epoch_finished, training_steps

        if self._epoch is None:
            self._epoch = training_steps(self.parts, self.position, self.images)
        with eager_fallback(self.cfg.compile):
            stats = next(self._epoch)
        if epoch_finished(self.parts, self.position, len(self.images)):
            self._epoch.close()
            self._epoch = None
            end_epoch(self.parts, self.position)
        self.losses += torch.stack([stats["d_loss"], stats["g_loss"]])
        return stats

    def run(self, steps: int | None = None, seconds: float | None = None) -> tuple[int, float]:
        """Train until ``steps`` more steps are taken or ``seconds`` of wall clock have passed,
        whichever comes first (the clock is read after every step, as the trainer's deadline is; a
        step here takes well under a second). Returns (steps taken, seconds they took)."""
        if steps is None and seconds is None:
            raise ValueError("run() needs a budget: steps, seconds or both")
        watch, taken = Stopwatch(self.device), 0
        while (steps is None or taken < steps) and (seconds is None or watch.peek() < seconds):
            self.step()
            taken += 1
        return taken, watch.seconds()


def add_budget_arguments(parser, minutes: float | None = 5.0) -> None:
    """``--minutes`` (wall clock) and ``--steps`` (a count of training steps). A wall-clock budget makes
    a figure depend on how fast the machine was at the time (and on whatever else ran on it); a step
    budget gives the same training on any machine, so its figures can be compared across machines."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--minutes", type=float, default=minutes, help=f"wall-clock training budget (default {minutes})")
    group.add_argument("--steps", type=int, help="a budget of training steps instead of minutes (machine-independent)")


# ----------------------------------------------------------------------------- the real-faces protocol
def add_protocol_arguments(parser, train: bool = True) -> None:
    """The real-faces protocol of bench/real_faces.sh: train on ``--train``, score against ``--holdout``
    (the first 1,000 file names of shared/data/faces64_train.tar, never trained on), or ``synthetic``
    for both (the built-in faces; the held-out ones rendered from a seed the training set never uses)."""
    if train:
        parser.add_argument("--train", default=str(REAL_FACES / "train"),
                            help=f"folder of training faces, or synthetic (default {REAL_FACES / 'train'})")
    parser.add_argument("--holdout", default=str(REAL_FACES / "holdout"),
                        help=f"folder of held-out faces, or synthetic: 1,000 faces from another seed than the "
                             f"training set's (default {REAL_FACES / 'holdout'})")


def protocol_faces(spec: str, holdout: bool, n: int = 1000) -> torch.Tensor:
    """uint8 (N, 3, 64, 64) faces of a protocol argument: a folder (all of its faces), or ``synthetic``:
    the training set (seed 0) or ``n`` held-out faces (seed 1)."""
    from facegan.data import synthetic_faces
    from facegan.data.images import load_faces

    if spec == "synthetic" and holdout:
        return synthetic_faces.render_faces(n, seed=1)[0]  # the training set is seed 0
    return load_faces(spec, progress=False).images


# ----------------------------------------------------------------------------- result files
def commit() -> dict[str, object]:
    """{"commit": HEAD's sha, "dirty": whether tracked files differ from it}; None values outside git."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": sha, "dirty": None if status is None else bool(status)}


def machine() -> dict[str, object]:
    """What a figure depends on: CPU model and cores, torch and its CPU capability (AVX2 / AVX512: native
    bf16 or not), torch threads, the GPU if any, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "python": platform.python_version()}


def command() -> str:
    """This process's command line, shell-quoted, the script named relative to the repository root."""
    argv = list(sys.argv)
    script = Path(argv[0]).resolve()
    if script.is_relative_to(ROOT):
        argv[0] = str(script.relative_to(ROOT))
    return shlex.join(["python", *argv])


def provenance(cmd: str | None = None) -> dict[str, object]:
    """The keys :func:`record` adds: commit, dirty, machine, command, and the time of writing."""
    return {**commit(), "machine": machine(), "command": cmd or command(),
            "recorded": time.strftime("%Y-%m-%dT%H:%M:%S")}


def record(path: str | os.PathLike, payload: dict | list[dict], jsonl: bool | None = None,
           cmd: str | None = None) -> Path:
    """Write a result file with where it came from: each record gets "commit", "dirty", "machine",
    "command" and "recorded" (its own keys win; it has none of these names). JSON lines (``jsonl``,
    default: the path ends in .jsonl) are appended, one line per record of ``payload``; a .json file is
    replaced. Atomic either way (a temporary file beside it, then os.replace): an interrupted bench
    never leaves half a line or half a document behind."""
    path = Path(path)
    jsonl = path.suffix == ".jsonl" if jsonl is None else jsonl
    rows = payload if isinstance(payload, list) else [payload]
    stamp = provenance(cmd)
    rows = [{**row, **{k: v for k, v in stamp.items() if k not in row}} for row in rows]
    if jsonl:
        before = path.read_text() if path.is_file() else ""
        if before and not before.endswith("\n"):
            before += "\n"
        text = before + "".join(json.dumps(row) + "\n" for row in rows)
    else:
        if len(rows) != 1:
            raise ValueError("a .json result file holds one record; use .jsonl for several")
        text = json.dumps(rows[0], indent=1) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def record_command(out: str, argv: list[str]) -> int:
    """Run ``argv`` (a bench shell script, say) with this checkout's facegan first on PYTHONPATH, echo its
    output and append it to ``out`` with :func:`record`'s provenance: the figures a shell script prints
    then have a results file too."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"]
                                                    if os.environ.get("PYTHONPATH") else "")}
    watch = Stopwatch()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    print(done.stdout, end="")
    record(out, {"returncode": done.returncode, "wall_s": round(watch.seconds(), 1),
                 "output": done.stdout.splitlines()[-200:]}, cmd=shlex.join(argv))
    return done.returncode


def main() -> None:
    if sys.argv[1:2] == ["check"]:
        import facegan

        print(f"bench: facegan from {Path(facegan.__file__).parent}; " + json.dumps({**commit(), **machine()}))
    elif sys.argv[1:2] == ["record"] and len(sys.argv) > 4 and sys.argv[3] == "--":
        sys.exit(record_command(sys.argv[2], sys.argv[4:]))
    else:
        sys.exit("usage: python bench/lib.py check | python bench/lib.py record OUT.jsonl -- COMMAND [ARGS...]")


if __name__ == "__main__":
    main()


def source_tree(path: Path, marker: str, scratch: Path) -> Path:
    """A folder holding a repository's files: ``path`` itself when ``marker`` (a file inside it) is there,
    else ``path`` is read as a bare clone / git directory and its HEAD extracted into ``scratch``
    (the parity benches import NVIDIA's code from such a folder for the comparison only)."""
    path = Path(path)
    if (path / marker).is_file():
        return path
    out = Path(scratch) / path.name.replace("+", "_")
    out.mkdir()
    archive = subprocess.run(["git", f"--git-dir={path}", "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out

