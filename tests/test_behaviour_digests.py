"""What facegan produces stays what it was: tiny training runs of three architectures, sample / interpolate /
edit / mix images, an imported NVIDIA-format pickle and ``python tests.py`` (tests/support/digests.py).

tests/fixtures/digests.json was written before the package's layout changed (issue 25), and again
before its second pass (issue 41, from commit 8be15b6) on the CPU kind the project now runs on: its
training runs came out 0.1 % apart in their sums from the first recording's (another host: oneDNN orders
float sums by the CPU's features and caches), so the machine now names the CPU kind too. On the machine
kind that wrote it (same torch build and CPU capability) every digest must match bit for bit; elsewhere
float kernels may differ in the last bits, so there the portable summaries (sums of the weights, the
images' mean and spread) must match within SUMMARY_TOLERANCE, and text and shapes exactly.
"""
from __future__ import annotations

import json
import math

import pytest
from support.digests import FIXTURE, compute, machine

SUMMARY_TOLERANCE = 1e-2  # relative (absolute for values near 0), for machines whose kernels differ


def summaries_match(now: list[float], was: list[float]) -> bool:
    """The same number of values, each within SUMMARY_TOLERANCE of the recorded one (zip alone would
    compare only as many as the shorter list holds)."""
    return len(now) == len(was) and all(
        math.isclose(a, b, rel_tol=SUMMARY_TOLERANCE, abs_tol=SUMMARY_TOLERANCE) for a, b in zip(now, was))


@pytest.fixture(scope="module")
def recorded():
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def today():
    return compute()


def test_every_recorded_output_is_still_produced(recorded, today):
    assert sorted(today) == sorted(recorded["digests"]), "the set of digested outputs changed"


def test_outputs_are_what_they_were(recorded, today):
    same_machine = recorded["machine"] == machine()
    changed = []
    for name, was in recorded["digests"].items():
        now = today[name]
        if same_machine or name == "python tests.py":
            if now["sha256"] != was["sha256"]:
                changed.append(f"{name}: digest {now['sha256'][:12]} != recorded {was['sha256'][:12]}")
        elif now.get("shape") != was.get("shape") or not summaries_match(now["summary"], was["summary"]):
            changed.append(f"{name}: summary {now['summary']} != recorded {was['summary']}")
    assert not changed, (f"behaviour changed ({'bit for bit, same machine' if same_machine else 'portable summaries'}"
                         "):\n" + "\n".join(changed))


def test_a_summary_with_more_or_fewer_values_differs():
    assert summaries_match([1.0, 2.0], [1.0 + 1e-4, 2.0])
    assert not summaries_match([1.0, 2.0], [1.0]) and not summaries_match([1.0], [1.0, 2.0])
    assert not summaries_match([], [1.0])
