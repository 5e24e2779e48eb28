"""User-facing errors: one clear line saying what was wrong and what to do.

The CLI prints ``str(error)`` and exits with status 2 instead of a traceback; library callers can
catch :class:`FaceganError` like any other exception. Nothing here imports torch: the CLI checks
its arguments with these helpers before loading anything heavy.
"""
from __future__ import annotations

import re


class FaceganError(Exception):
    """A problem with the user's input (data, files, flags, device) rather than a bug in facegan."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first sentence of another library's error, for quoting inside a one-line FaceganError: terminal
    colour codes (torch.onnx colours its messages) dropped, cut at the end of its first line or sentence
    and at ``limit``; the type's name if empty::

        >>> first_line(RuntimeError("\\x1b[31mbad shape\\x1b[0m\\n  at line 3"))
        'bad shape'
        >>> first_line(RuntimeError("failed finding central directory. This is an internal miniz error. If ..."))
        'failed finding central directory.'
        >>> first_line(KeyError())
        'KeyError'
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    if not text:
        return type(error).__name__
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.splitlines()[0])[0][:limit]


def require_int_at_least(name: str, value: int, minimum: int = 1) -> int:
    """``value`` if it is an integer >= ``minimum``, else a FaceganError naming ``name``.

    ``name`` is shown as given: the CLI passes ``"--n"``, a config check passes the field name::

        >>> require_int_at_least("--n", 0)
        Traceback (most recent call last):
        ...
        facegan.errors.FaceganError: --n must be a positive integer (got 0)
        >>> require_int_at_least("--n", 1, minimum=2)
        Traceback (most recent call last):
        ...
        facegan.errors.FaceganError: --n must be at least 2 (got 1)
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaceganError(f"{name} must be an integer (got {value!r})")
    if value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"at least {minimum}"
        raise FaceganError(f"{name} must be {wanted} (got {value})")
    return value
