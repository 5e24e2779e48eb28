"""One writer per run directory: an advisory lock that ``train`` holds for as long as it writes a run.

``flock`` on ``<run>/.lock``: the kernel releases it when the process ends, however it ends (``kill -9``
included), so a lock is never stale and nothing has to be cleaned up. The file also says who holds it
(pid, host, since when), for the line a second trainer is refused with. It is never deleted: deleting a
lock file while another process waits on it would let a third lock a new file beside them.

Only writers lock: ``sample``, ``eval``, ``verify`` and the app read a run without it, and see whole files
only (every write is atomic: :mod:`facegan.fileio`). Where ``fcntl`` is missing (Windows) runs are not locked.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Iterator

from facegan.errors import FaceganError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

LOCK_FILE = ".lock"


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold ``run_dir``'s lock inside the block; a run another process holds is refused in one line
    naming the holder and what to do."""
    path = Path(run_dir) / LOCK_FILE
    if fcntl is None:
        yield
        return
    with open(path, "a+") as handle:  # "a+": creates it, never truncates another holder's note
        if not take(handle):
            raise FaceganError(in_use_message(run_dir, read_holder(path)))
        handle.truncate(0)
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def take(handle, tries: int = 5) -> bool:
    """flock without waiting, tried a few times 50 ms apart: :func:`holder` takes the lock shared for an
    instant, which must not make a trainer that starts at that instant refuse."""
    for attempt in range(tries):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt < tries - 1:
                time.sleep(0.05)
    return False


def holder(run_dir: str | os.PathLike) -> dict | None:
    """Who holds ``run_dir``'s lock now ({pid, host, since}; {} when its note is unreadable), or None
    when nobody does. Takes the lock for an instant to find out, so it never blocks a trainer."""
    path = Path(run_dir) / LOCK_FILE
    if fcntl is None or not path.is_file():
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(path)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def read_holder(path: Path) -> dict:
    try:
        note = json.loads(path.read_text())
        return note if isinstance(note, dict) else {}
    except (OSError, ValueError):
        return {}


def describe_holder(note: dict) -> str:
    """'pid 4242 on host-a, since 2026-12-07 13:40:02' (what the note has of it)."""
    if "pid" not in note:
        return "another process"
    where = f" on {note['host']}" if note.get("host") and note["host"] != socket.gethostname() else ""
    return f"pid {note['pid']}{where}, since {note.get('since', '?')}"


def in_use_message(run_dir: str | os.PathLike, note: dict) -> str:
    stop = f"kill {note['pid']}" if "pid" in note else "stop it"
    return (f"{run_dir} is in use by another trainer ({describe_holder(note)}): two would interleave their "
            f"checkpoints and logs; wait for it to end, or stop it (Ctrl-C in its terminal saves a checkpoint; "
            f"or {stop}) and run this again")
