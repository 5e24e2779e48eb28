"""The metric registry, torch-free: each metric's name, the function that computes it (imported when it
runs: metrics need torch), the figures a log line shows, and what it needs. ``evaluate`` dispatches
through it; the CLI and the config check names against it before torch is loaded.

Adding a metric is one function ``(fake, real, context) -> dict`` in ``facegan.evaluation.evaluate``
(fake and real uint8 (N, 3, R, R)) and one line in :data:`METRICS`.

    >>> parse_metric_names("swd, msssim")
    ('swd', 'msssim')
    >>> headline({"swd_avg": 20.0, "swd_64": 30.0, "msssim": 0.26, "n": 64})
    {'swd_avg': 20.0, 'msssim': 0.26}
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from facegan.errors import FaceganError


@dataclass(frozen=True)
class Metric:
    name: str
    function: str  # "module:name" of the function (fake, real, context) -> dict
    headline: tuple[str, ...]  # the keys of its result a log line shows
    needs_inception: bool = False  # FID/KID's feature weights must be on disk (facegan download inception)

    def load(self) -> Callable[..., dict]:
        module, _, name = self.function.partition(":")
        return getattr(importlib.import_module(module), name)


METRICS = {m.name: m for m in (
    Metric("swd", "facegan.evaluation.evaluate:run_swd", ("swd_avg",)),
    Metric("msssim", "facegan.evaluation.evaluate:run_msssim", ("msssim",)),
    Metric("fid", "facegan.evaluation.evaluate:run_fid", ("fid", "kid"), needs_inception=True),
)}
METRIC_NAMES = tuple(METRICS)
DEFAULT_METRICS = "swd,msssim"  # training's metrics_every and facegan eval
DEFAULT_EVAL_SAMPLES = 10_000  # facegan eval: fake and real images compared


def parse_metric_names(text: str) -> tuple[str, ...]:
    """'swd, msssim' -> ('swd', 'msssim'), each checked.

    >>> parse_metric_names("swd,lpips")
    Traceback (most recent call last):
    ...
    facegan.errors.FaceganError: unknown metric 'lpips'; choose from swd, msssim, fid
    """
    names = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        what = f"unknown metric {unknown[0]!r}" if unknown else f"metrics {text!r} names no metric"
        raise FaceganError(f"{what}; choose from {', '.join(METRIC_NAMES)}")
    return names


def headline(scores: dict) -> dict:
    """The figures of ``scores`` (an evaluate() result) that the metrics' log lines show, in registry order."""
    keys = [key for metric in METRICS.values() for key in metric.headline]
    return {key: scores[key] for key in keys if key in scores}


def needs_inception(names: tuple[str, ...]) -> bool:
    return any(METRICS[name].needs_inception for name in names)
