"""facegan as a package, not only a checkout: a wheel built from the repository (PEP 517, setuptools, the
same build `python -m build` runs) carries the shipped models as package data; installed into a folder
outside the repository and run from another folder, `sample`, `edit` and `interpolate` draw with the
shipped models (by default and by name) and `facegan app` serves the page."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from facegan.app.serve import serve

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "facegan", "models")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(site folder holding the installed wheel, the wheel) from a copy of the repository's sources."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(
            REPO / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if (REPO / name).is_dir()
                                       else {}))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                            "-w", str(root / "dist"), "-q"], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("facegan-*.whl"))
    site = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel),
                           "-q"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return site, wheel


def run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_wheel_carries_the_package_and_its_models(installed):
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    for model in ("stylegan64.safetensors", "stylegan64.directions.safetensors", "celeba64.safetensors",
                  "attributes.safetensors", "stylegan64.md"):
        assert f"facegan/shipped/{model}" in names
    assert "facegan/app/page.py" in names and "facegan/app/streamlit_app.py" in names
    assert wheel.stat().st_size < 20 * 2**20  # the models are fp16 and small


def test_the_installed_package_draws_and_edits_with_its_models(installed, tmp_path):
    site, _ = installed
    where = run(site, tmp_path, "-c", "import facegan, facegan.fileio as f; print(facegan.__file__); "
                                      "print(f.shipped_model(f.DEFAULT_GENERATOR))")
    assert where.returncode == 0, where.stderr
    package, default = where.stdout.split()
    assert package.startswith(str(site)) and default.startswith(str(site))  # not the checkout
    for args in (["sample", "--n", "4", "--out", "default.png"],
                 ["sample", "--generator", "celeba64", "--n", "4", "--out", "dcgan.png"],
                 ["edit", "--seed", "1", "--edit", "smile=+2", "--out", "edit.png"],
                 ["interpolate", "--steps", "3", "--out", "blend.png"]):
        done = run(site, tmp_path, "-m", "facegan", *args)
        assert done.returncode == 0, (args, done.stderr)
        assert (tmp_path / args[args.index("--out") + 1]).stat().st_size > 1000
    bad = run(site, tmp_path, "-m", "facegan", "sample", "--generator", "celeba65")
    assert bad.returncode == 2 and "name of a shipped model (stylegan64, celeba64)" in bad.stderr


def test_facegan_app_serves_the_page_from_the_installed_package(installed, tmp_path):
    site, _ = installed
    env = {"PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"}
    with serve([sys.executable, "-m", "facegan", "app", "--port", "0", "--headless"], cwd=tmp_path, env=env,
               log=tmp_path / "app.log") as server:
        status, page = server.get("/")
        assert status == 200 and "<html" in page.lower()
        status, health = server.get("/_stcore/health")
        assert status == 200 and health.strip() == "ok"
