"""The CLI end to end (a real subprocess once), and every bad input's one-line message."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from facegan.cli import main

TINY = ["--data", "synthetic", "--synthetic-count", "32", "--width", "0.125", "--latent-dim", "16",
        "--batch-size", "16", "--log-every", "1", "--grid-size", "4", "--device", "cpu", "--no-progress"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "facegan", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def exit_code(args: list[str]) -> int:
    """main()'s status; argparse's own errors exit through SystemExit."""
    try:
        return main(args)
    except SystemExit as e:
        return e.code


def test_train_then_sample_end_to_end(tmp_path):
    done = run_cli("train", "--preset", "quick", "--epochs", "1", *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "device: cpu | preset: quick" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("done: 1 epochs") and "runs/001-quick" in last
    export = tmp_path / "runs" / "001-quick" / "generator.safetensors"
    assert export.is_file()

    faces = run_cli("sample", "--generator", str(export), "--n", "9", "--seed", "3", "--out", "faces.png",
                    cwd=tmp_path)
    assert faces.returncode == 0, faces.stderr
    grid = Image.open(tmp_path / "faces.png")
    assert grid.size == (3 * 66 + 2, 3 * 66 + 2)  # 3x3 faces of 64 px with 2 px padding
    assert run_cli("sample", "--generator", str(export), "--n", "9", "--seed", "3", "--out", "again.png",
                   cwd=tmp_path).returncode == 0
    assert (tmp_path / "faces.png").read_bytes() == (tmp_path / "again.png").read_bytes()


def test_sample_separate_and_interpolate(tmp_path, tiny_config):
    from facegan.training import train

    run = train(tiny_config(), progress=False)
    export = str(run / "generator.safetensors")
    assert main(["sample", "--generator", export, "--n", "3", "--separate", str(tmp_path / "one")]) == 0
    files = sorted((tmp_path / "one").glob("*.png"))
    assert [f.name for f in files] == ["face_0000.png", "face_0001.png", "face_0002.png"]
    assert Image.open(files[0]).size == (64, 64)
    out = tmp_path / "strip.png"
    assert main(["interpolate", "--generator", export, "--steps", "5", "--out", str(out)]) == 0
    assert Image.open(out).size == (5 * 66 + 2, 66 + 2)


def test_resume_from_the_cli(tmp_path, tiny_config, capsys):
    from facegan.training import train

    run = train(tiny_config(), progress=False)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert (run / "samples" / "epoch_002.png").is_file()
    assert main(["train", "--resume", str(run), "--batch-size", "8"]) == 2
    assert "only --epochs and --device" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "-1"], "epochs must be a positive integer (got -1)"),
    (["train", "--batch-size", "0"], "batch_size must be a positive integer (got 0)"),
    (["train", "--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    (["train", "--preset", "fast"], "argument --preset: invalid choice: 'fast'"),
    (["train", "--device", "tpu"], "device must be auto, cpu, cuda, cuda:N or mps"),
    (["train", "--data", "no/such/folder", "--device", "cpu"], "data folder no/such/folder does not exist"),
    (["sample", "--generator", "missing.safetensors"], "generator file missing.safetensors not found"),
    (["sample", "--generator", "x.safetensors", "--n", "0"], "--n must be a positive integer"),
    (["eval", "--generator", "x.safetensors", "--n", "1"], "--n must be at least 2 (got 1)"),
    (["interpolate", "--generator", "x.safetensors", "--steps", "0"], "--steps must be a positive integer"),
    (["train", "--resume", "runs/none"], "run directory runs/none does not exist"),
])
def test_bad_input_gets_one_clear_line(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert exit_code(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_unavailable_device_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", "--device", "cuda"]) == 2
    assert "CUDA is not available here; use --device cpu" in capsys.readouterr().err


def test_empty_data_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--data", str(tmp_path / "empty"), "--device", "cpu"]) == 2
    assert "holds no images" in capsys.readouterr().err
