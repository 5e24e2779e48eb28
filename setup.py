"""The wheel carries the shipped models: pyproject.toml holds the project's metadata, and this hook only
copies models/ (the default generators with their directions and cards, the attribute classifier) into
the built package as facegan/shipped/, where facegan.fileio.shipped_model finds them in an installed
facegan. setuptools cannot map a folder outside the package into it from pyproject.toml alone."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("*.safetensors", "*.md")


class BuildWithModels(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "facegan" / "shipped"
        target.mkdir(parents=True, exist_ok=True)
        for pattern in SHIPPED:
            for path in sorted(Path("models").glob(pattern)):
                shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildWithModels})
