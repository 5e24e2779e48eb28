"""User-facing errors: one clear line saying what was wrong and what to do.

The CLI prints ``str(error)`` and exits with status 2 instead of a traceback; library callers can
catch :class:`FaceganError` like any other exception. Nothing here imports torch: the CLI checks
its arguments with these helpers before loading anything heavy.
"""
from __future__ import annotations


class FaceganError(Exception):
    """A problem with the user's input (data, files, flags, device) rather than a bug in facegan."""


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
