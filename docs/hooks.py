"""MkDocs hook: the pages link to the repository's own files the way GitHub resolves them from docs/
(``../assets/x.png``, ``../models/stylegan64.md``, ``../bench/RESULTS.md``, ``../recipes/README.md``,
``../LICENSE``), so they read right in both places. The site gets those files under the same names at its root
(the figures, the model cards, the benchmark results, the recipes; not the weights), and the links of the pages
in docs/ lose their ``../``. The shared pages themselves (a card's ``../recipes/stylegan64.sh``) already link
from their own folder, as on GitHub, and are left as they are."""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

REPO = Path(__file__).resolve().parent.parent
SHARED = ("assets", "models", "bench/RESULTS.md", "recipes", "LICENSE")
LINK = re.compile(r"\]\(\.\./(assets/|models/|bench/RESULTS\.md|recipes/|LICENSE)")


def _shared_files() -> list[Path]:
    found = []
    for entry in SHARED:
        path = REPO / entry
        found += [path] if path.is_file() else sorted(p for p in path.iterdir()  # not __pycache__/
                                                      if p.is_file() and p.suffix != ".safetensors")
    return found


def on_files(files, config):
    for path in _shared_files():
        files.append(File(path.relative_to(REPO).as_posix(), str(REPO), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    if "/" in page.file.src_uri:  # a shared page (models/x.md, recipes/README.md): its links are right already
        return markdown
    return LINK.sub(r"](\1", markdown)
