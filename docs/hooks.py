"""MkDocs hook: the pages link to the repository's own files the way GitHub resolves them from docs/
(``../assets/x.png``, ``../models/stylegan64.md``, ``../bench/RESULTS.md``, ``../LICENSE``), so they read
right in both places. The site gets those files under the same names at its root (the figures, the
model cards, the benchmark results; not the weights), and the links lose their ``../``."""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

REPO = Path(__file__).resolve().parent.parent
SHARED = ("assets", "models", "bench/RESULTS.md", "LICENSE")
LINK = re.compile(r"\]\(\.\./(assets/|models/|bench/RESULTS\.md|LICENSE)")


def _shared_files() -> list[Path]:
    found = []
    for entry in SHARED:
        path = REPO / entry
        found += [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix != ".safetensors")
    return found


def on_files(files, config):
    for path in _shared_files():
        files.append(File(path.relative_to(REPO).as_posix(), str(REPO), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    return LINK.sub(r"](\1", markdown)
