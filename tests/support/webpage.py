"""The browser page (web/) in a real Chromium: serve web/dist on 127.0.0.1 and measure the frames the page
draws while a slider is dragged. Used by tests/test_web.py and bench/web_fps.py."""
from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]

# Drags the blend slider: one 'input' event per animation frame for `seconds`; returns the page's stats.
DRAG = """async (seconds) => {
  const slider = document.getElementById("blend"), stats = window.faceganStats, start = stats.frames;
  const t0 = performance.now();
  let events = 0;
  while (performance.now() - t0 < seconds * 1000) {
    slider.value = String((events % 100) / 100);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    events += 1;
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return { frames: stats.frames - start, events, seconds: (performance.now() - t0) / 1000,
           lastMs: stats.lastMs, error: stats.error };
}"""


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """http://127.0.0.1:PORT serving ``folder`` (.mjs and .wasm with the types browsers want)."""
    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                          ".wasm": "application/wasm", ".onnx": "application/octet-stream"}

        def log_message(self, *args):  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def drag_and_count(url: str, seconds: float = 3.0) -> dict:
    """Open the page in Chromium, wait for its first face, drag the blend slider for ``seconds``; returns
    the page's frame count, events, the last frame's milliseconds, frames per second and the canvas's
    pixels before and after (PNG data URLs)."""
    from playwright.sync_api import sync_playwright

    from facegan.app.serve import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url + "/index.html")
            page.wait_for_function("window.faceganStats && (window.faceganStats.ready || window.faceganStats.error)",
                                   timeout=120_000)
            before = page.evaluate("document.getElementById('face').toDataURL()")
            result = page.evaluate(DRAG, seconds)
            page.wait_for_function("!document.getElementById('status').textContent.startsWith('loading')")
            result["after"] = page.evaluate("document.getElementById('face').toDataURL()")
            result["before"] = before
            result["fps"] = result["frames"] / result["seconds"]
            return result
        finally:
            browser.close()


def screenshot(url: str, path: Path, seed: int = 7, smile: float = 2.0) -> None:
    """The page at 1100x800 with face A = ``seed`` and the smile slider at ``smile`` (the README's picture)."""
    from playwright.sync_api import sync_playwright

    from facegan.app.serve import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto(url + "/index.html")
            page.wait_for_function("window.faceganStats && window.faceganStats.ready", timeout=120_000)
            for selector, value in (("#seed-a", seed), ("input.edit[data-name=smile]", smile)):
                page.fill(selector, str(value))
                page.dispatch_event(selector, "input")
            page.wait_for_timeout(1500)  # the redraw
            page.screenshot(path=str(path))
        finally:
            browser.close()
