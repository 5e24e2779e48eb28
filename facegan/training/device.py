"""Pick the compute device: cuda -> mps -> cpu, or check the one the user asked for."""
from __future__ import annotations

import re

import torch

from facegan.config import DEVICE_HELP, DEVICE_PATTERN
from facegan.errors import FaceganError


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def pick_device(requested: str = "auto") -> torch.device:
    """Return the device to train on; an unavailable explicit request is a clear error."""
    if not re.fullmatch(DEVICE_PATTERN, requested):
        raise FaceganError(f"{DEVICE_HELP} (got {requested!r})")
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise FaceganError(f"--device {requested} was requested but CUDA is not available here; "
                               "use --device cpu (or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise FaceganError(f"--device {requested}: only {torch.cuda.device_count()} CUDA device(s) exist")
    if device.type == "mps" and not _mps_available():
        raise FaceganError(f"--device {requested} was requested but MPS is not available here; "
                           "use --device cpu (or auto)")
    return device


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
