"""Small helpers for dlnd_face_generation.ipynb: show images and figures inline, a grid per epoch."""
from __future__ import annotations

from PIL import Image

from .training import EpochEnd


def show(obj) -> None:
    """Display a PIL image or matplotlib figure inline (no-op outside IPython)."""
    try:
        from IPython.display import display
    except ImportError:
        return
    display(obj)


def show_each_epoch(event: EpochEnd) -> None:
    """Training callback: the epoch's fixed-z sample grid (train(progress=False) prints its losses)."""
    with Image.open(event.grid_path) as grid:
        show(grid.copy())
