"""User-facing errors: one clear line saying what was wrong and what to do.

The CLI prints ``str(error)`` and exits with status 2 instead of a traceback; library callers can
catch :class:`FaceganError` like any other exception.
"""


class FaceganError(Exception):
    """A problem with the user's input (data, files, flags, device) rather than a bug in facegan."""
