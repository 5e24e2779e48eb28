"""What every Python helper in recipes/ imports first (``import checkout``; a script's own folder,
recipes/, is ``sys.path[0]``): puts bench/ on ``sys.path`` and imports ``bench/lib.py``, which puts this
checkout's ``facegan`` first and stops with one line if ``facegan`` would import from anywhere else. A
recipe reproduces the shipped file from the tree it is in, never from an installed facegan; the bench
modules a recipe reuses (``face_identity``) import from bench/ after this."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import lib  # noqa: E402,F401  (bench/lib.py: this checkout's facegan first, checked)
