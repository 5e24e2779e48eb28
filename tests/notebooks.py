"""Running a notebook in the tests: Run All in a fresh kernel from the repository root, with the
environment variables its parameters cell reads, and what its code cells showed."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IMAGE_TYPES = {"image/png", "image/jpeg"}


def run_all(path: Path, monkeypatch, env: dict):
    """The executed notebook (nbformat node), after checking no cell raised."""
    nbformat = pytest.importorskip("nbformat", reason="the test requirements install nbformat")
    from nbclient import NotebookClient

    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for o in outputs(nb) if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else ""
    return nb


def outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def text(nb) -> str:
    return "\n".join(o.get("text", "") for o in outputs(nb))


def images(cell_outputs) -> list:
    return [o for o in cell_outputs if IMAGE_TYPES & set(o.get("data", {}))]
