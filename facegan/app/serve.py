"""Run the app as a real server for the browser test, the Space test, the load test and the
screenshots: `streamlit run` on 127.0.0.1 in a process group of its own, waited for until
/_stcore/health answers, and stopped with everything it started. Torch-free, no Streamlit import."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from facegan.errors import FaceganError

# Chromium as Playwright should start it here: Debian's build (Playwright cannot download its own),
# headless, and quiet: no background network, updates or sync (nothing may leave 127.0.0.1).
CHROMIUM = os.environ.get("FACEGAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(app: str | Path, port: int) -> list[str]:
    """`streamlit run APP` on 127.0.0.1:PORT, headless, without usage statistics, with this Python."""
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1",
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none"]


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen

    def get(self, path: str, timeout: float = 10) -> tuple[int, str]:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", errors="replace")


@contextlib.contextmanager
def serve(command: list[str], port: int, cwd: str | Path | None = None, log: str | Path | None = None,
          env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[Server]:
    """Start ``command`` (a server that will listen on 127.0.0.1:``port``) in a new process group, wait
    until /_stcore/health says ok, yield it, then stop the whole group (SIGTERM, SIGKILL after 10 s)."""
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    output = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_healthy(server, timeout, log)
        yield server
    finally:
        _stop_group(process)
        if log:
            output.close()


def _wait_healthy(server: Server, timeout: float, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise FaceganError(f"the server exited with status {server.process.returncode} before answering"
                               + (f"; see {log}" if log else ""))
        try:
            if server.get("/_stcore/health", timeout=2) == (200, "ok"):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    raise FaceganError(f"the server did not answer {server.url}/_stcore/health within {timeout:.0f} s")


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process group this module started, then SIGKILL if it is still there after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            pass
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (MB)."""
    total = 0
    for current in _tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process and its descendants have used so far."""
    ticks = 0
    for current in _tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")
