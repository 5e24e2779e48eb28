"""The documentation site (MkDocs + Material, built from docs/) builds with warnings as errors, so a broken
link, a missing anchor or a page the nav names but nobody wrote fails here; every page is in the nav; the
README stays a newcomer's page whose links all resolve; each model card links the recipe that made its file."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
MODELS = REPO / "models"
RECIPES = REPO / "recipes"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def site_hook():
    """docs/hooks.py, the MkDocs hook (its SHARED names the repository files the site carries)."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nav_pages(entries) -> list[str]:
    """Every file the mkdocs.yml nav names, depth first."""
    found = []
    for entry in entries:
        for value in (entry.values() if isinstance(entry, dict) else [entry]):
            found += nav_pages(value) if isinstance(value, list) else [value]
    return found


def built_page(site: Path, page: str) -> Path:
    """Where MkDocs writes a nav page: index.md and a folder's README.md become that folder's index.html."""
    path = Path(page)
    if path.name in ("index.md", "README.md"):
        return site / path.parent / "index.html"
    return site / path.with_suffix("") / "index.html"


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((REPO / "mkdocs.yml").read_text())


def build(tmp_path: Path, docs_config: Path = REPO / "mkdocs.yml") -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about its successor, not ours
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(docs_config),
                           "--site-dir", str(tmp_path / "site")], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_site_builds_with_warnings_as_errors_and_carries_the_figures(tmp_path, config):
    done = build(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    site = tmp_path / "site"
    for page in nav_pages(config["nav"]):
        html = built_page(site, page)
        assert html.is_file(), f"{page} is in the nav but {html} was not built"
    shown = set(re.findall(r"\.\./assets/([\w.-]+)", "".join(p.read_text() for p in DOCS.glob("*.md"))))
    assert shown, "the pages show no figures"
    missing = sorted(name for name in shown if not (site / "assets" / name).is_file())
    assert not missing, f"figures the pages show but the site lacks: {missing}"
    assert not list(site.rglob("*.safetensors")), "the site must not carry model weights"


def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    """The strict build is what catches them: a copy of docs/ with one bad link and one bad anchor."""
    copy = tmp_path / "repo"
    (copy / "docs").mkdir(parents=True)
    for page in DOCS.iterdir():
        (copy / "docs" / page.name).write_bytes(page.read_bytes())
    for shared in site_hook().SHARED:
        (copy / shared).parent.mkdir(parents=True, exist_ok=True)
        (copy / shared).symlink_to(REPO / shared)
    (copy / "mkdocs.yml").write_text((REPO / "mkdocs.yml").read_text())
    licence = copy / "docs" / "licence.md"
    licence.write_text(licence.read_text() + "\n[gone](no-such-page.md) and [app](app.md#no-such-anchor)\n")
    done = build(tmp_path, copy / "mkdocs.yml")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr and "no-such-anchor" in done.stderr


def test_every_page_is_in_the_nav_and_every_roadmap_step_has_one(config):
    pages = nav_pages(config["nav"])
    written = sorted(p.name for p in DOCS.glob("*.md"))
    assert sorted(p for p in pages if "/" not in p) == written, "a page in docs/ is missing from the nav (or the reverse)"
    for step in ("vanilla-gan.md", "dcgan.md", "progan.md", "adain.md", "stylegan2.md", "stylegan3.md", "projected.md"):
        assert step in pages
    for door in ("course-project.md", "training.md", "app.md", "editing.md", "package.md", "browser.md"):
        assert door in pages


def test_the_readme_is_short_and_its_links_resolve():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= 150, f"the README has {len(lines)} lines: move detail into docs/"
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings[0] == "Quick start" and "Where to go next" in headings and headings[-1] == "Licence"
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        path = target.split("#", 1)[0]
        assert (REPO / path).exists(), f"README links to {target}, which is not in the repository"
    every_page = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    linked = {Path(t.split("#", 1)[0]).name for t in LINK.findall(text) if t.startswith("docs/")}
    assert not every_page - linked - {"licence.md"}, \
        f"README's map misses {sorted(every_page - linked)}"


def test_each_model_card_links_the_recipe_that_made_its_file():
    """A card (models/NAME.md) links its recipe in recipes/ (relative, as GitHub and the site resolve it); the
    recipe's header names the file it reproduces and the card; recipes/README.md's table lists every shipped
    file with its recipe, and every recipe in recipes/ is in that table."""
    table = (RECIPES / "README.md").read_text()
    cards = sorted(MODELS.glob("*.md"))
    assert cards, "no model cards in models/"
    for card in cards:
        shipped = f"models/{card.stem}.safetensors"
        links = [t for t in LINK.findall(card.read_text()) if t.startswith("../recipes/")]
        assert links, f"{card.name} links no recipe: add a line like [recipes/X.sh](../recipes/X.sh)"
        recipe = (card.parent / links[0].split("#", 1)[0]).resolve()
        assert recipe.is_file(), f"{card.name} links {links[0]}, which is not in the repository"
        header = recipe.read_text()[:4000]
        assert shipped in header and f"models/{card.name}" in header, \
            f"{recipe.name}'s header must name the file it reproduces ({shipped}) and its card"
        assert f"`{shipped}`" in table and f"]({recipe.name})" in table, \
            f"recipes/README.md's table lacks {shipped} -> {recipe.name}"
    for recipe in sorted(RECIPES.glob("*.sh")):
        assert f"]({recipe.name})" in table, f"recipes/README.md's table does not list {recipe.name}"
