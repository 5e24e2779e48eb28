"""stylegan_path.ipynb (DCGAN -> ProGAN -> AdaIN -> StyleGAN2): committed clean, and Run All works end to
end (tiny, on the CPU), showing a labelled grid per epoch of the growing run and both style blocks."""
import json

from notebooks import ROOT, images, outputs, run_all, text

NOTEBOOK = ROOT / "stylegan_path.ipynb"


def test_committed_notebook_has_no_outputs_and_is_small():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert NOTEBOOK.stat().st_size < 40_000
    assert "parameters" in code[0]["metadata"].get("tags", [])
    source = "".join("".join(c["source"]) for c in code)
    assert "%matplotlib inline" in source and "nn.Conv2d" not in source  # the models come from the package


def test_run_all_grows_shows_each_phase_and_compares_the_style_blocks(tmp_path, monkeypatch):
    nb = run_all(NOTEBOOK, monkeypatch, {
        "FACEGAN_PATH_DATA": "synthetic", "FACEGAN_PATH_COUNT": 64, "FACEGAN_PATH_RESOLUTION": 16,
        "FACEGAN_PATH_PHASE_KIMG": 0.064, "FACEGAN_PATH_STYLE_MINUTES": 0, "FACEGAN_PATH_STYLE_EPOCHS": 1,
        "FACEGAN_RUNS_DIR": tmp_path / "runs"})
    shown = text(nb)
    assert "schedule: [4, 8, 16], 0.32k images = 5 epochs of 64" in shown
    growing = next(c for c in nb.cells if c.cell_type == "code" and "run_dir = train(cfg" in c.source)
    assert len(images(growing.outputs)) == 5  # one labelled grid per epoch
    assert "    adain: b4.input" in shown and "modulated: b4.conv1" in shown
    assert len(images(outputs(nb))) >= 1 + 5 + 1 + 1 + 2 + 1 + 2  # data, growth, fade rows, 30 min, blocks, plot, psi, mix
    assert (tmp_path / "runs" / "001-progan-cpu" / "generator.safetensors").is_file()
