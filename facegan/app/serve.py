"""Run the app as a real server for the browser test, the Space test, the load test and the
screenshots: `streamlit run` on 127.0.0.1 in a process group of its own, waited for until
/_stcore/health answers, and stopped with everything it started. Torch-free, no Streamlit import.

Port 0 (the default) lets the server bind a port the kernel picks, so no other process can take it
between choosing and binding; the port is then read from the sockets the process group listens on
(Linux /proc). A port given explicitly counts as served only once this process group listens on it:
a stranger that took it first is named, never mistaken for the app."""
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
    """A TCP port on 127.0.0.1 that nothing listens on right now, though another process may take it before
    a server binds it: prefer port 0, which ``streamlit_command`` and ``serve`` take by default."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(app: str | Path, port: int = 0) -> list[str]:
    """`streamlit run APP` on 127.0.0.1:PORT (0: a free port it binds itself), headless, without usage
    statistics, with this Python."""
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
def serve(command: list[str], port: int = 0, cwd: str | Path | None = None, log: str | Path | None = None,
          env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[Server]:
    """Start ``command`` (a server that will listen on 127.0.0.1:``port``, or on a port it picks when
    ``port`` is 0) in a new process group, wait until /_stcore/health says ok on a port that group
    listens on, yield it, then stop the whole group (SIGTERM, SIGKILL after 10 s)."""
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    output = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield _wait_healthy(process, port, timeout, log)
    finally:
        _stop_group(process)
        if log:
            output.close()


def _wait_healthy(process: subprocess.Popen, port: int, timeout: float, log) -> Server:
    """The server once /_stcore/health answers ok on a port ``process``'s group listens on (``port``
    itself unless it is 0), so that a stranger holding the port is never taken for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FaceganError(f"the server exited with status {process.returncode} before answering"
                               + _port_note(port) + (f"; see {log}" if log else ""))
        for candidate in _own_ports(process.pid, port):
            server = Server(f"http://127.0.0.1:{candidate}", process)
            try:
                if server.get("/_stcore/health", timeout=2) == (200, "ok"):
                    return server
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
        time.sleep(0.3)
    raise FaceganError(f"the server did not answer /_stcore/health within {timeout:.0f} s" + _port_note(port)
                       + (f"; see {log}" if log else ""))


def _own_ports(pid: int, port: int) -> list[int]:
    """The TCP ports ``pid``'s process tree listens on, or just ``port`` if it is one of them."""
    ports = listening_ports(_tree(pid))
    return sorted(ports) if port == 0 else [port] if port in ports else []


def _port_note(port: int) -> str:
    """Why a server given ``port`` may not have come up: another process listens there."""
    if port and port in listening_ports():
        return f": port {port} on 127.0.0.1 is taken by another process (port 0 lets the server pick a free one)"
    return ""


def listening_ports(pids: list[int] | None = None) -> set[int]:
    """TCP ports in the LISTEN state, of these processes only when ``pids`` is given (Linux: their
    socket inodes in /proc/PID/fd matched against /proc/net/tcp and tcp6)."""
    inodes = None if pids is None else {inode for pid in pids for inode in _socket_inodes(pid)}
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()  # sl, local address:port (hex), remote, state (0A: LISTEN), ..., inode
            if len(fields) > 9 and fields[3] == "0A" and (inodes is None or fields[9] in inodes):
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _socket_inodes(pid: int) -> set[str]:
    """Inode numbers of the sockets ``pid`` has open (empty if it is gone or not ours to read)."""
    found = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    found.add(target[len("socket:["):-1])
    except OSError:
        pass
    return found


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
