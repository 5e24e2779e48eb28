"""vanilla_gan_digits.ipynb: committed clean, and Run All works end to end (tiny, on the CPU)."""
import json

from notebooks import ROOT, images, outputs, run_all, text

NOTEBOOK = ROOT / "vanilla_gan_digits.ipynb"


def test_committed_notebook_has_no_outputs_and_is_small():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert NOTEBOOK.stat().st_size < 40_000
    assert "parameters" in code[0]["metadata"].get("tags", [])  # papermill's parameters cell comes first
    source = "".join("".join(c["source"]) for c in code)
    assert "%matplotlib inline" in source and "nn.Linear" not in source  # the models come from the package


def test_run_all_shows_a_grid_per_epoch_the_losses_and_the_report(tmp_path, monkeypatch):
    epochs = 2
    nb = run_all(NOTEBOOK, monkeypatch, {
        "FACEGAN_DIGITS_MINUTES": 0, "FACEGAN_DIGITS_EPOCHS": epochs, "FACEGAN_DIGITS_COUNT": 256,
        "FACEGAN_DIGITS_CLASSIFIER_EPOCHS": 1, "FACEGAN_DIGITS_HELD_OUT": 100, "FACEGAN_DIGITS_SAMPLES": 200,
        "FACEGAN_DIGITS_DATA": "synthetic-digits", "FACEGAN_RUNS_DIR": tmp_path / "runs"})
    shown = text(nb)
    assert "256 built-in synthetic digits" in shown and "Linear 512->784" in shown
    assert "recognised (p >= 0.9)" in shown and "classifier accuracy on held-out digits" in shown
    training_cell = next(c for c in nb.cells if c.cell_type == "code" and "train(cfg" in c.source)
    assert len(images(training_cell.outputs)) == epochs
    assert len(images(outputs(nb))) >= epochs + 5  # data grid, per-epoch grids, losses, judged grid, samples, interpolation
    run = tmp_path / "runs" / "001-digits"
    assert (run / "generator.safetensors").is_file() and (run / "judged.png").is_file()
