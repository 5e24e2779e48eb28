"""Assemble the Hugging Face Space: ``python -m facegan.app.space build OUT``.

A Streamlit Space is a Docker Space: OUT gets the committed template in space/ (Dockerfile, the
Space's README with its YAML front matter, requirements.txt, .gitattributes putting the model files
in Git LFS), app.py with its .streamlit/config.toml,
the facegan package's source, and the shipped default model with its directions, card and the
attribute classifier. Publishing it is a git push of OUT to the Space (docs/app.md, "Publish it as a Hugging Face Space").
Torch-free: it only copies files, from a checkout of the repository.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from facegan.errors import FaceganError

REPO = Path(__file__).resolve().parents[2]  # facegan/app/space.py -> the checkout
TEMPLATE = ("Dockerfile", "README.md", "requirements.txt", ".gitattributes")  # from space/
APP = ("app.py", ".streamlit/config.toml")
MODELS = ("stylegan64.safetensors", "stylegan64.directions.safetensors",  # the default (fileio.DEFAULT_GENERATOR)
          "celeba64.safetensors", "celeba64.directions.safetensors", "attributes.safetensors")
OPTIONAL_MODELS = ("stylegan64.md", "celeba64.md", "attributes.md")  # cards: copied when present
HF_FILE_LIMIT = 10 * 2**20  # Spaces want Git LFS for larger files


def required_files() -> list[str]:
    """The paths (relative to the Space folder) a complete Space must hold."""
    package = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "facegan").rglob("*.py"))
    return list(TEMPLATE) + list(APP) + [f"models/{m}" for m in MODELS] + package


def build(out: str | Path, repo: Path = REPO) -> list[Path]:
    """Write the Space into ``out`` (a new or empty folder); returns the files written."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FaceganError(f"{out} is not empty; give a new folder (the Space is assembled from scratch)")
    sources = {name: repo / "space" / name for name in TEMPLATE}
    sources.update({name: repo / name for name in APP})
    sources.update({f"models/{m}": repo / "models" / m for m in MODELS + OPTIONAL_MODELS})
    sources.update({p.relative_to(repo).as_posix(): p for p in (repo / "facegan").rglob("*.py")})
    missing = [name for name, src in sources.items() if not src.is_file() and name.removeprefix("models/")
               not in OPTIONAL_MODELS]
    if missing:
        raise FaceganError(f"cannot assemble the Space: {', '.join(missing)} missing from {repo} "
                           "(run it from a complete checkout; git checkout models/ restores the models)")
    written = []
    for name, src in sorted(sources.items()):
        if not src.is_file():
            continue
        dst = out / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        written.append(dst)
    return written


def check(folder: str | Path) -> list[str]:
    """What a Space folder lacks or gets wrong (empty: complete): the required files, the front matter a
    Docker Space needs, and files over the size Spaces take without Git LFS."""
    folder = Path(folder)
    problems = [f"missing {name}" for name in required_files() if not (folder / name).is_file()]
    front = front_matter(folder / "README.md") if (folder / "README.md").is_file() else {}
    for key, value in {"sdk": "docker", "app_port": "8501"}.items():
        if front.get(key) != value:
            problems.append(f"README.md front matter needs {key}: {value} (has {front.get(key)!r})")
    for key in ("title", "license"):
        if not front.get(key):
            problems.append(f"README.md front matter has no {key}")
    big = [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size > HF_FILE_LIMIT]
    problems += [f"{p.relative_to(folder)} is over 10 MB: it needs Git LFS on the Space" for p in big]
    return problems


def front_matter(readme: Path) -> dict[str, str]:
    """The flat ``key: value`` pairs between the README's leading '---' lines."""
    lines = readme.read_text().splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    pairs = {}
    for line in lines[1:]:
        if line.strip() == "---":
            break
        key, _, value = line.partition(":")
        pairs[key.strip()] = value.strip()
    return pairs


def start_command(folder: str | Path) -> list[str]:
    """The Dockerfile's CMD (its JSON form), as the container would run it."""
    for line in (Path(folder) / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return json.loads(line[4:])
    raise FaceganError(f"{folder}/Dockerfile has no CMD [...] line")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facegan.app.space", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="assemble the Space into a new folder").add_argument("out")
    sub.add_parser("check", help="say what a Space folder lacks").add_argument("folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            written = build(args.out)
            print(f"assembled the Space in {args.out} ({len(written)} files); publish it: docs/app.md, "
                  "'Publish it as a Hugging Face Space'")
        problems = check(args.out if args.command == "build" else args.folder)
    except FaceganError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"incomplete: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
