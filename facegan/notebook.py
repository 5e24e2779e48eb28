"""Small helpers for dlnd_face_generation.ipynb: show images and figures inline, a grid per epoch.

Images are displayed in one format only (IPython would store a PIL image as both PNG and JPEG), and
the per-epoch grids as JPEG: the PNG files stay in the run directory, and an executed notebook with
a grid for each of 20 epochs stays a few MB instead of twenty.
"""
from __future__ import annotations

import io

from PIL import Image

from facegan.training.loop import EpochEnd


def show(obj, jpeg: bool = False) -> None:
    """Display a PIL image (as one PNG, or JPEG if ``jpeg``) or a matplotlib figure inline
    (no-op outside IPython)."""
    try:
        from IPython.display import Image as InlineImage
        from IPython.display import display
    except ImportError:
        return
    if isinstance(obj, Image.Image):
        buffer = io.BytesIO()
        obj.convert("RGB").save(buffer, format="JPEG", quality=85) if jpeg else obj.save(buffer, format="PNG")
        obj = InlineImage(data=buffer.getvalue(), format="jpeg" if jpeg else "png")
    display(obj)


def show_each_epoch(event: EpochEnd) -> None:
    """Training callback: the epoch's fixed-z sample grid (train(progress=False) prints its losses)."""
    with Image.open(event.grid_path) as grid:
        show(grid.copy(), jpeg=True)
