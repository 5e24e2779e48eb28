"""dlnd_face_generation.ipynb: committed clean, and Run All works end to end (tiny, on the CPU)."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "dlnd_face_generation.ipynb"


def test_committed_notebook_has_no_outputs_and_is_small():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert NOTEBOOK.stat().st_size < 40_000
    assert "parameters" in code[0]["metadata"].get("tags", [])  # papermill's parameters cell comes first
    assert "%matplotlib inline" in "".join("".join(c["source"]) for c in code)


def images_per_run(epochs: int) -> int:
    return epochs + 4  # data grid, per-epoch grids, loss curves, final grid, interpolation


def test_run_all_executes_and_shows_a_grid_per_epoch(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="the test requirements install nbformat")
    from nbclient import NotebookClient

    epochs = 2
    for key, value in {"FACEGAN_EPOCHS": epochs, "FACEGAN_SYNTHETIC_COUNT": 96, "FACEGAN_WIDTH": 0.125,
                       "FACEGAN_BATCH_SIZE": 32, "FACEGAN_RUNS_DIR": tmp_path / "runs",
                       "FACEGAN_DATA": "synthetic"}.items():
        monkeypatch.setenv(key, str(value))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    for line in ("check_dataset_outputs: passed", "check_discriminator: passed", "check_generator: passed"):
        assert line in text
    training_cell = next(c for c in nb.cells if c.cell_type == "code" and "train(cfg" in c.source)
    grids = [o for o in training_cell.outputs if {"image/png", "image/jpeg"} & set(o.get("data", {}))]
    assert len(grids) >= epochs
    training_text = "".join(o.get("text", "") for o in training_cell.outputs)
    assert "\r" not in training_text and len(training_text) < 400 * (epochs + 4)  # a line per epoch, no bar refreshes
    assert all(set(o["data"]) == {"image/jpeg", "text/plain"} for o in grids)  # one compact format per grid
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    assert executed.stat().st_size < 40_000 + 200_000 * images_per_run(epochs)  # text is small; PNGs dominate
    images = sum(bool({"image/png", "image/jpeg"} & set(o.get("data", {})))
                 for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= images_per_run(epochs)
    assert (tmp_path / "runs" / "001-quick" / "generator.safetensors").is_file()
