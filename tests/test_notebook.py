"""The notebooks: committed clean, and Run All works end to end (tiny, on the CPU).
dlnd_face_generation.ipynb trains; face_editing.ipynb edits with the models shipped in models/."""
import json

import pytest
from notebooks import ROOT, images, outputs, run_all, text

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
    import nbformat

    epochs = 2
    nb = run_all(NOTEBOOK, monkeypatch, {"FACEGAN_EPOCHS": epochs, "FACEGAN_SYNTHETIC_COUNT": 96, "FACEGAN_WIDTH": 0.125,
                                         "FACEGAN_BATCH_SIZE": 32, "FACEGAN_RUNS_DIR": tmp_path / "runs",
                                         "FACEGAN_DATA": "synthetic"})
    for line in ("check_dataset_outputs: passed", "check_discriminator: passed", "check_generator: passed"):
        assert line in text(nb)
    training_cell = next(c for c in nb.cells if c.cell_type == "code" and "train(cfg" in c.source)
    grids = images(training_cell.outputs)
    assert len(grids) >= epochs
    training_text = "".join(o.get("text", "") for o in training_cell.outputs)
    assert "\r" not in training_text and len(training_text) < 400 * (epochs + 4)  # a line per epoch, no bar refreshes
    assert all(set(o["data"]) == {"image/jpeg", "text/plain"} for o in grids)  # one compact format per grid
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    assert executed.stat().st_size < 40_000 + 200_000 * images_per_run(epochs)  # text is small; PNGs dominate
    assert len(images(outputs(nb))) >= images_per_run(epochs)
    assert (tmp_path / "runs" / "001-quick" / "generator.safetensors").is_file()


def test_editing_notebook_runs_all_with_the_shipped_models(monkeypatch):
    nb = run_all(EDITING_NOTEBOOK, monkeypatch, {"FACEGAN_FIT_SAMPLES": 400, "FACEGAN_PROJECT_STEPS": 5})
    shown = text(nb)
    assert "edits happen in its w space" in shown and "cosine between this smile direction" in shown
    assert "truncation psi" in shown and "w+ space: PSNR" in shown  # the shipped default is a style generator
    # faces, 4 strips, conditional grid + plot, interpolation, truncation + mixing, projection, 2 edits
    assert len(images(outputs(nb))) >= 1 + 4 + 2 + 1 + 2 + 1 + 2
