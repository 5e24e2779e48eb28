"""The app's screenshots (docs/app.md, the README), taken in a real browser (Debian's Chromium via Playwright)
against `streamlit run app.py` on 127.0.0.1 with the shipped model:

    python bench/app_screenshots.py [assets]

writes app_generate.png, app_blend.png, app_edit.png and app_photo.png (a procedural face from
facegan.data.synthetic_faces stands in for a photo: no real person's picture goes into the repository).
"""
from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import lib  # first: this checkout's facegan
import numpy as np
from playwright.sync_api import expect, sync_playwright

from facegan.app.serve import CHROMIUM, CHROMIUM_ARGS, free_port, serve, streamlit_command
from facegan.data.synthetic_faces import render_face
from facegan.fileio import atomic_path

REPO = lib.ROOT

IMAGES = "[data-testid=stMain] [data-testid=stImage] img"


def settle(page, count: int) -> None:
    """Wait for ``count`` main-area images, all decoded, and no spinner."""
    expect(page.locator(IMAGES)).to_have_count(count)
    page.wait_for_function(f"[...document.querySelectorAll('{IMAGES}')].every(i => i.complete && i.naturalWidth > 0)")
    expect(page.locator("[data-testid=stSpinner]")).to_have_count(0)
    page.wait_for_timeout(500)


def shoot(page, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(page.screenshot(full_page=True))
    print(f"wrote {path}")


def move(page, label: str, steps: int, changes: int) -> None:
    """Move slider ``label`` by ``steps`` of its step with the arrow keys (as a keyboard user would) and
    wait for main-area image number ``changes`` to change."""
    before = page.locator(IMAGES).nth(changes).get_attribute("src")
    page.locator("[data-testid=stSlider]").filter(has_text=label).get_by_role("slider").focus()
    for _ in range(abs(steps)):
        page.keyboard.press("ArrowRight" if steps > 0 else "ArrowLeft")
    page.wait_for_function("([s, i, b]) => document.querySelectorAll(s)[i].getAttribute('src') !== b",
                           arg=[IMAGES, changes, before])


def main(out: Path) -> None:
    photo = io.BytesIO()
    render_face(np.random.default_rng(7), size=256)[0].save(photo, format="PNG")
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    with serve(streamlit_command(REPO / "app.py", port), port, cwd=REPO, log=log) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.set_default_timeout(120_000)
        expect.set_options(timeout=120_000)
        page.goto(server.url)
        settle(page, 16)
        shoot(page, out / "app_generate.png")

        page.get_by_role("tab", name="Blend").click()
        settle(page, 4)
        shoot(page, out / "app_blend.png")

        page.get_by_role("tab", name="Edit").click()
        settle(page, 2)
        for label, steps in (("blond", 25), ("age", 15)):
            move(page, label, steps, changes=1)
        settle(page, 2)
        shoot(page, out / "app_edit.png")

        page.get_by_role("tab", name="Your photo").click()
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "face.png", "mimeType": "image/png", "buffer": photo.getvalue()}])
        settle(page, 3)
        move(page, "smile", 20, changes=2)
        settle(page, 3)
        shoot(page, out / "app_photo.png")
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO / "assets", help="folder for the PNGs (default assets)")
    main(parser.parse_args().out)
