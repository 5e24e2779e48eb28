"""Reuse freed memory while drawing large images on a CPU: page faults were a third of an HD face's time.

glibc's malloc serves every allocation above its mmap threshold (at most 32 MB) with fresh pages from the
kernel and hands them back on free, so the next map of that size is new pages again, which the kernel zeroes
on first touch. An HD generator makes hundreds of such maps (a band of a 1,044 px StyleGAN3 layer is 128 MB;
a StyleGAN2 1024 layer's activations are 50-200 MB), so faulting pages in cost a StyleGAN3-T 1024 face about
5 of its 12 s, and a StyleGAN2 1024 face half of its 3.3 s (CPU-2c, bench/RESULTS.md "HD faces at CPU
speed").

Inside ``reuse_freed_memory()`` malloc serves large blocks from its heap (``M_MMAP_MAX`` 0) and keeps up to
``RETAINED_BYTES`` of freed memory at the heap's top (``M_TRIM_THRESHOLD``), so a layer's second band reuses
the first one's pages. The bound keeps the peak near what the maps need (StyleGAN3-R 1024: 2.8 GB with 1 GB
kept, 3.3 GB keeping everything; 2.1 GB without the context). On leaving the outermost context glibc's
usual settings return (blocks above 32 MB from the kernel again) and the heap's free pages go back to the kernel
(``malloc_trim``). A process-wide setting, hence the counter: nested and concurrent drawing (the app's threads)
restore only when the last one leaves.

Why not a library: PyTorch's own advice is to preload jemalloc or tcmalloc (``LD_PRELOAD``), which a user
must install and set up before Python starts; this needs nothing. Other C libraries (musl, macOS, Windows):
a no-op, as is a glibc without these functions.
"""
from __future__ import annotations

import contextlib
import ctypes
import threading
from typing import Iterator

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4  # mallopt's parameter numbers (glibc's malloc.h)
# on leaving: what glibc's dynamic thresholds reach in a PyTorch process (mmap above 32 MB, trim above twice
# that), not its start-up 128 KB: setting any of these turns the dynamic rule off for good, and 128 KB fixed
# made the quick preset's training steps after the first grid 10-20 % slower (more page faults)
_AFTER_MMAP_THRESHOLD, _AFTER_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 32 << 20, 64 << 20, 65536
RETAINED_BYTES = 1 << 30

_lock = threading.Lock()
_depth = 0


def _load_glibc():
    """The process's C library if it is glibc (it exports gnu_get_libc_version), else None."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:  # Windows: no "the running process" handle
        return None
    if not all(hasattr(libc, name) for name in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
        return None
    return libc


_glibc = _load_glibc()


def active() -> bool:
    """Whether freed memory is being kept for reuse now (inside ``reuse_freed_memory`` on glibc)."""
    return _glibc is not None and _depth > 0


@contextlib.contextmanager
def reuse_freed_memory(retained_bytes: int = RETAINED_BYTES) -> Iterator[None]:
    """Within: large freed blocks are reused instead of returned to the kernel (see the module's docstring)."""
    global _depth
    if _glibc is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _glibc.mallopt(_M_MMAP_MAX, 0)
            _glibc.mallopt(_M_TRIM_THRESHOLD, min(retained_bytes, 2 ** 31 - 1))  # mallopt takes a C int
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _glibc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
                _glibc.mallopt(_M_MMAP_THRESHOLD, _AFTER_MMAP_THRESHOLD)
                _glibc.mallopt(_M_TRIM_THRESHOLD, _AFTER_TRIM_THRESHOLD)
                _glibc.malloc_trim(0)
