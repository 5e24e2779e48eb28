"""The CLI end to end (a real subprocess once), and every bad input's one-line message."""
import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from facegan.cli import build_parser, main
from facegan.errors import FaceganError, require_int_at_least
from facegan.evaluation.registry import METRIC_NAMES, parse_metric_names

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
    assert last.startswith("done: 1 epoch of ") and "runs/001-quick" in last
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
    from facegan.training.loop import train

    run = train(tiny_config(), progress=False)
    export = str(run / "generator.safetensors")
    assert main(["sample", "--generator", str(run), "--n", "3", "--separate", str(tmp_path / "one")]) == 0
    files = sorted((tmp_path / "one").glob("*.png"))
    assert [f.name for f in files] == ["face_0000.png", "face_0001.png", "face_0002.png"]
    assert Image.open(files[0]).size == (64, 64)
    out = tmp_path / "strip.png"
    assert main(["interpolate", "--generator", export, "--steps", "5", "--out", str(out)]) == 0
    assert Image.open(out).size == (5 * 66 + 2, 66 + 2)
    assert main(["interpolate", "--generator", str(run), "--steps", "5", "--out", str(tmp_path / "again.png")]) == 0
    assert (tmp_path / "again.png").read_bytes() == out.read_bytes()  # a run directory means its export


def test_face_commands_default_to_the_shipped_generator_and_the_others_need_one(tmp_path, capsys):
    from facegan.fileio import DEFAULT_GENERATOR, shipped_model
    from facegan.latent import sample
    from facegan.interop.export import load_generator
    from facegan.viz import save_grid

    out = tmp_path / "faces.png"
    assert main(["sample", "--n", "2", "--seed", "5", "--device", "cpu", "--out", str(out)]) == 0
    expected = tmp_path / "expected.png"
    save_grid(sample(load_generator(shipped_model(DEFAULT_GENERATOR)), 2, seed=5), expected)
    assert out.read_bytes() == expected.read_bytes()  # the shipped default's faces, not some other model's
    assert "stylegan64" in build_parser().parse_args(["edit", "--seed", "1", "--strip", "smile"]).generator
    for command in (["directions"], ["eval"]):  # these write beside or judge a generator: no default
        with pytest.raises(SystemExit):
            build_parser().parse_args(command)
        assert "--generator" in capsys.readouterr().err


def test_resume_from_the_cli(tmp_path, tiny_config, capsys):
    from facegan.training.loop import train

    run = train(tiny_config(), progress=False)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert (run / "samples" / "epoch_002.png").is_file()
    assert main(["train", "--resume", str(run), "--batch-size", "8"]) == 2
    assert "only its budget (--epochs, --minutes, --kimg) and --device" in capsys.readouterr().err


# Mistakes the CLI reports before importing torch (cwd: a folder made by make_folders()).
CAUGHT_EARLY = [
    (["sample", "--generator", "missing.safetensors"], "generator file missing.safetensors not found"),
    (["sample", "--generator", "x.safetensors", "--n", "0"], "--n must be a positive integer (got 0)"),
    (["sample", "--generator", "x.safetensors", "--nrow", "0"], "--nrow must be a positive integer (got 0)"),
    (["sample", "--generator", "runs/001-quick", "--device", "tpu"], "device must be auto, cpu, cuda, cuda:N or mps"),
    (["sample", "--generator", "runs/001-quick"], "runs/001-quick has no generator.safetensors yet: train it first"),
    (["sample", "--generator", "runs/002-stopped"], "has no generator.safetensors yet: train it first "
                                                    "(facegan train --resume runs/002-stopped)"),
    (["sample", "--generator", "runs"], "runs is a folder but not a run directory"),
    (["interpolate", "--generator", "x.safetensors", "--steps", "0"], "--steps must be a positive integer"),
    (["eval", "--generator", "x.safetensors", "--n", "1"], "--n must be at least 2 (got 1)"),
    (["eval", "--generator", "runs/001-quick", "--metrics", "swd,nope"], "unknown metric 'nope'; choose from swd"),
    (["eval", "--generator", "runs/001-quick", "--metrics", ","], "metrics ',' names no metric"),
    (["train", "--device", "tpu"], "device must be auto, cpu, cuda, cuda:N or mps"),
    (["train", "--resume", "runs/none"], "run directory runs/none does not exist"),
    (["train", "--resume", "runs/001-quick", "--batch-size", "8"], "and --device may be given (got --batch-size)"),
    (["import", "stylegan2", "ffhq.pkl"], "ffhq.pkl not found"),
    (["import", "rosinality", "runs"], "runs is not a file"),
    (["import", "stylegan2", "runs/001-quick/config.json", "--out", "faces.png"], "--out must name a .safetensors file"),
    (["download", "stylegan2-ffhq", "--out", "ffhq.pkl"], "--out must name a .safetensors file"),
    (["download", "celeba-small", "--fp32"], "apply to the pre-trained generators"),
]


def make_folders(root: Path) -> None:
    """runs/001-quick: a run whose first epoch has not ended (config.json, no export yet);
    runs/002-stopped: a checkpoint but no export (as if the export had been deleted)."""
    (root / "runs" / "001-quick").mkdir(parents=True)
    (root / "runs" / "001-quick" / "config.json").write_text("{}\n")
    (root / "runs" / "002-stopped" / "checkpoints").mkdir(parents=True)
    (root / "runs" / "002-stopped" / "checkpoints" / "state-000001.pt").write_bytes(b"")


@pytest.mark.parametrize("args, message", CAUGHT_EARLY + [
    (["train", "--epochs", "-1"], "epochs must be a positive integer (got -1)"),
    (["train", "--batch-size", "0"], "batch_size must be a positive integer (got 0)"),
    (["train", "--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    (["train", "--preset", "fast"], "argument --preset: invalid choice: 'fast'"),
    (["train", "--data", "no/such/folder", "--device", "cpu"], "data folder no/such/folder does not exist"),
])
def test_bad_input_gets_one_clear_line(args, message, tmp_path, monkeypatch, capsys):
    make_folders(tmp_path)
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


NO_TORCH_SCRIPT = """
import contextlib, io, json, sys
from facegan.cli import main
assert "torch" not in sys.modules, ("importing facegan.cli imported torch: facegan/__init__.py must load its "
                                    "heavy names (train, load_generator, ...) lazily")
for args, message in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as e:
            code = e.code
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], (args, code, lines)
    assert "torch" not in sys.modules, f"facegan {' '.join(args)} imported torch before reporting the mistake"
print("checked", len(json.loads(sys.argv[1])), "mistakes")
"""


def test_argument_mistakes_are_reported_before_torch_is_imported(tmp_path):
    """A mistake costs no torch import (3-4 s): one fresh interpreter runs every early-caught case."""
    make_folders(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", NO_TORCH_SCRIPT, json.dumps(CAUGHT_EARLY)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]


def test_every_registered_metric_loads_and_a_new_one_is_one_registered_function(monkeypatch):
    """The registry dispatches: evaluate runs whatever METRICS names (in its order), the CLI's and config's
    checks accept it, and the log line shows its headline figures."""
    import torch

    from facegan.evaluation.evaluate import evaluate
    from facegan.evaluation.registry import METRICS, Metric, headline
    from facegan.models.dcgan import Generator

    for metric in METRICS.values():
        assert callable(metric.load()), metric.name
    monkeypatch.setitem(METRICS, "brightness", Metric("brightness", "test_cli:mean_brightness", ("brightness",)))
    real = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    result = evaluate(Generator(8, 0.125, resolution=32), real, n=8, metrics=parse_metric_names("brightness"))
    assert result["brightness"] == pytest.approx(real.float().mean().item())
    assert headline(result) == {"brightness": result["brightness"]}
    assert METRIC_NAMES == ("swd", "msssim", "fid")


def mean_brightness(fake, real, ctx) -> dict:
    """A metric registered by the test above: the real images' mean pixel value."""
    return {"brightness": real.float().mean().item()}


@pytest.mark.parametrize("value, minimum, message", [
    (0, 1, "--n must be a positive integer (got 0)"),
    (-3, 1, "--n must be a positive integer (got -3)"),
    (1, 2, "--n must be at least 2 (got 1)"),
    (True, 1, "--n must be an integer (got True)"),
    (2.5, 1, "--n must be an integer (got 2.5)"),
])
def test_require_int_at_least(value, minimum, message):
    with pytest.raises(FaceganError) as failure:
        require_int_at_least("--n", value, minimum)
    assert str(failure.value) == message
    assert require_int_at_least("--n", 5, minimum) == 5


def all_help_texts() -> str:
    """facegan --help and every command's --help, whitespace collapsed (argparse wraps lines)."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    return " ".join(" ".join([parser.format_help(), *(p.format_help() for p in commands.values())]).split())


def test_help_texts_hold_no_benchmark_figures():
    """Speeds and timings go stale in --help: they belong in bench/RESULTS.md (help may point there)."""
    figure = re.compile(r"\d(\.\d+)?\s*x\s+(faster|slower)|\bmeasured\b|img/s|faces/s|it/s|"
                        r"\d+(\.\d+)?\s*(ms|s|sec|seconds|min|minutes)\b", re.IGNORECASE)
    text = all_help_texts()
    found = [text[max(m.start() - 40, 0):m.end() + 20] for m in figure.finditer(text)]
    assert not found, found


def test_package_discovery_finds_every_subpackage():
    """A non-editable `pip install .` installs only the packages setuptools finds (pyproject.toml's
    packages.find): a folder of modules without an __init__.py would import in a checkout and be missing
    everywhere else."""
    from setuptools import find_packages

    root = Path(__file__).resolve().parent.parent
    include = re.search(r"^\[tool.setuptools.packages.find\]\ninclude = \[(.*?)\]", (root / "pyproject.toml").read_text(),
                        re.M).group(1)
    found = set(find_packages(str(root), include=[name.strip().strip('"') for name in include.split(",")]))
    folders = {".".join(p.parent.relative_to(root).parts) for p in (root / "facegan").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert folders == found, f"folders of modules not found as packages: {sorted(folders - found)}"


def test_a_training_log_written_to_a_file_is_plain_lines(tmp_path):
    """Without a terminal (stdout and stderr are files here) there are no carriage-return progress bars:
    one plain line per epoch, each written when it happens."""
    tiny = [a for a in TINY if a != "--no-progress"]
    done = run_cli("train", *tiny, "--epochs", "2", "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout and "\r" not in done.stderr
    epochs = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
