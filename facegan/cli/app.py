"""facegan app: the Streamlit page of an installed facegan (the checkout's ``streamlit run app.py``), with
the settings the checkout's .streamlit/config.toml gives it, as command-line flags (an installed package has
no such folder)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from facegan.cli.common import Command, Parents
from facegan.errors import FaceganError, require_int_at_least

SCRIPT = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
# .streamlit/config.toml's settings (the Space copies that file; an installed facegan has only these flags)
PAGE_FLAGS = ["--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
              "--client.showErrorDetails", "none", "--server.maxUploadSize", "8", "--server.fileWatcherType", "none"]


def add_app_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    app = sub.add_parser("app", help="open the app (make, blend and edit faces) in the browser",
                         description="Starts the Streamlit page on this machine with the shipped models (and "
                                     "FACEGAN_APP_MODELS folders); Ctrl-C stops it.")
    app.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501; 0: a free one)")
    app.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this "
                                                            "machine only; 0.0.0.0 for others too)")
    app.add_argument("--headless", action="store_true", help="do not open a browser window")
    return app


def prepare_app(args: argparse.Namespace) -> None:
    require_int_at_least("--port", args.port, 0)
    if args.port > 65535:
        raise FaceganError(f"--port must be at most 65535 (got {args.port})")


def app_command(args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(SCRIPT), "--server.address", args.address,
            "--server.port", str(args.port), "--server.headless", "true" if args.headless else "false", *PAGE_FLAGS]


def run_app(args: argparse.Namespace) -> None:
    try:
        import streamlit  # noqa: F401 -- only to say what is missing before handing over
    except ImportError:
        raise FaceganError("the app needs Streamlit: pip install 'facegan[app]' (or -r requirements-app.txt)") from None
    command = app_command(args)
    sys.stdout.flush()
    os.execv(command[0], command)  # Streamlit takes over this process (Ctrl-C reaches it directly)


COMMANDS = [Command("app", add_app_parser, prepare_app, run_app)]
