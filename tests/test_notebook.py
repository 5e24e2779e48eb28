"""The notebooks: committed clean, and Run All works end to end (tiny, on the CPU).
dlnd_face_generation.ipynb trains; face_editing.ipynb edits with the models shipped in models/."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "dlnd_face_generation.ipynb"
EDITING_NOTEBOOK = ROOT / "face_editing.ipynb"


@pytest.mark.parametrize("notebook", [NOTEBOOK, EDITING_NOTEBOOK], ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs_and_is_small(notebook):
    nb = json.loads(notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert notebook.stat().st_size < 40_000
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


def test_editing_notebook_runs_all_with_the_shipped_models(monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="the test requirements install nbformat")
    from nbclient import NotebookClient

    monkeypatch.setenv("FACEGAN_FIT_SAMPLES", "400")
    monkeypatch.setenv("FACEGAN_PROJECT_STEPS", "5")
    nb = nbformat.read(EDITING_NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "edits happen in its z space" in text and "cosine between this smile direction" in text
    assert "PSNR" in text
    images = sum(bool({"image/png", "image/jpeg"} & set(o.get("data", {}))) for o in outputs)
    assert images >= 1 + 4 + 2 + 1 + 1 + 2  # faces, 4 strips, conditional grid + plot, interpolation, projection, 2 edits
