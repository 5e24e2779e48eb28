"""The app in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run app.py`
on 127.0.0.1 (its own process group, stopped by the test). The page loads, a grid of faces appears,
a face downloads as a PNG, moving an edit slider changes the face, and a bad upload through the real
upload endpoint gets one error line. It fails, rather than skips, without Chromium: tests/install.sh (the README's test command) installs it.
"""
import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

from facegan.app.serve import CHROMIUM, CHROMIUM_ARGS, serve, streamlit_command

REPO = Path(__file__).resolve().parent.parent
MAIN_IMAGES = "[data-testid=stMain] [data-testid=stImage] img"


def test_the_app_in_a_real_browser(tmp_path):
    assert Path(CHROMIUM).is_file(), f"no browser at {CHROMIUM}: bash tests/install.sh installs it (apt-get install -y chromium)"
    log = tmp_path / "streamlit.log"  # port 0: streamlit binds a free port itself, serve() finds which
    with serve(streamlit_command(REPO / "app.py", 0), 0, cwd=REPO, log=log) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)  # the first page loads torch and the model on a shared CPU
            page.goto(server.url)

            # a grid of 16 faces, every image decoded (64 px PNGs, scaled by the browser)
            images = page.locator(MAIN_IMAGES)
            expect(images).to_have_count(16)
            page.wait_for_function(f"[...document.querySelectorAll('{MAIN_IMAGES}')]"
                                   ".every(img => img.complete && img.naturalWidth === 64)")

            # one face downloads as the 64 px PNG of seed 0
            with page.expect_download() as download:
                page.get_by_role("button", name="PNG").first.click()
            assert download.value.suggested_filename == "face-0.png"
            png = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
            assert png.format == "PNG" and png.size == (64, 64)

            # the Edit tab: moving the age slider changes the edited face (its media URL is a content hash)
            page.get_by_role("tab", name="Edit").click()
            expect(images).to_have_count(2)
            edited = images.nth(1)
            before = edited.get_attribute("src")
            slider = page.locator("[data-testid=stSlider]").filter(has_text="age").get_by_role("slider")
            slider.focus()
            page.keyboard.press("End")  # to +3
            expect(edited).not_to_have_attribute("src", before)
            expect(slider).to_have_value("3")

            # a file that is not a photo, through the real upload endpoint: one error line
            page.get_by_role("tab", name="Your photo").click()
            page.locator("input[type=file]").set_input_files(
                files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}])
            error = page.locator("[data-testid=stAlertContentError]")
            expect(error).to_have_count(1)
            assert "upload a photo in one of jpg, jpeg, png, webp (got .txt)" in error.inner_text()
            assert page.locator("[data-testid=stException]").count() == 0
        finally:
            browser.close()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
