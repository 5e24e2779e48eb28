"""The page (app.py) headless with Streamlit's AppTest: widgets change what is shown, every tab works
for the shipped model and for a model trained with `facegan train`, and every bad input (broken or
missing model files, missing directions, bad uploads) shows one error line and no exception."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("streamlit", reason="the app's tests need streamlit: pip install -r requirements-test.txt")
from streamlit.testing.v1 import AppTest  # noqa: E402
from test_styles import tiny as tiny_stylegan  # noqa: E402
from test_webapp import tiny_export  # noqa: E402

from facegan.app import logic as webapp  # noqa: E402
from facegan.cli import main as cli  # noqa: E402
from facegan.training.loop import train  # noqa: E402
from facegan.interop.export import export_generator  # noqa: E402

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def start(tab: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if tab:
        at.session_state["tab"] = tab  # the tabs are keyed: the open one is in the session state
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def one_error(at: AppTest) -> str:
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    message = at.error[0].value
    assert "\n" not in message and "Traceback" not in message
    return message


def photo_bytes(side=96, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (side, side, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def test_generate_shows_a_grid_that_follows_the_seed_and_count():
    at = clean(start())
    assert at.selectbox(key="model").value == "stylegan64 (shipped)"
    assert len(at.get("image")) == 16 and len(at.get("download_button")) == 17  # each face + the grid
    at.button[0].click().run()  # New faces
    assert clean(at).session_state.seed != 0
    at.slider(key="count").set_value(3).run()
    assert len(clean(at).get("image")) == 3
    assert "Model card" in [e.label for e in at.sidebar.expander]
    assert "architecture" in at.sidebar.expander[0].markdown[0].value
    assert "truncation" in [s.key for s in at.slider]  # the shipped default is a style generator


def test_blend_and_edit_tabs_draw_and_react():
    at = clean(start("Blend"))
    assert len(at.get("image")) == 4  # A, the blend, B, the GIF
    at.slider(key="blend_t").set_value(0.9).run()
    assert "90% of the way" in str(clean(at).get("image")[1].proto)

    at = clean(start("Edit"))
    names = [s.key for s in at.slider]
    assert {"edit_age", "edit_gender", "edit_smile", "edit_glasses", "edit_blond"} <= set(names)
    assert len(at.get("image")) == 2  # before, edited
    at.slider(key="edit_age").set_value(2.5).run()
    at.toggle(key="edit_keep_gender").set_value(True).run()
    assert clean(at).slider(key="edit_age").value == 2.5
    at.button(key="edit_reset").click().run()
    assert all(s.value == 0.0 for s in clean(at).slider if s.key.startswith("edit_"))  # not the truncation


@pytest.mark.parametrize("name, data, message", [
    ("notes.txt", b"hello", "upload a photo in one of jpg, jpeg, png, webp (got .txt)"),
    ("me.png", b"\x89PNG but broken", "me.png is not a readable image"),
    ("me.png", photo_bytes(40), "me.png is 40x40: too small"),
    ("me.jpg", b"\xff" * (8 * 2**20 + 1), "photos up to 8 MB are accepted"),
])
def test_bad_uploads_get_one_line(name, data, message):
    at = start("Your photo")
    at.file_uploader(key="photo").set_value((name, data, "application/octet-stream")).run()
    assert message in one_error(at)


def test_a_photo_is_projected_and_its_sliders_edit_it(monkeypatch):
    monkeypatch.setattr(webapp, "PROJECT_STEPS", 3)  # the page's projection, a few steps only
    at = start("Your photo")
    at.file_uploader(key="photo").set_value(("me.jpg", photo_bytes(120, "JPEG"), "image/jpeg")).run()
    assert len(clean(at).get("image")) == 3  # the photo, its reconstruction, the edited face
    assert any("PSNR" in c.value for c in at.caption)
    at.slider(key="photo_smile").set_value(2.0).run()
    assert len(clean(at).get("image")) == 3


def test_broken_models_and_missing_directions_each_get_one_line(tmp_path, monkeypatch):
    extra = tmp_path / "extra"
    (extra / "broken").mkdir(parents=True)
    (extra / "broken" / "generator.safetensors").write_bytes(b"\x00" * 100)
    tiny_export(extra / "bare" / "generator.safetensors", directions=())
    monkeypatch.setenv(webapp.MODELS_ENV, str(extra))
    at = start()
    at.selectbox(key="model").set_value("extra/broken/generator.safetensors (unreadable)").run()
    assert "not a readable safetensors file" in one_error(at)
    assert not at.get("image")

    at.selectbox(key="model").set_value("extra/bare/generator.safetensors").run()
    assert len(clean(at).get("image")) == 16
    at = start("Edit")
    at.selectbox(key="model").set_value("extra/bare/generator.safetensors").run()
    clean(at)
    assert [w.value for w in at.warning] == [at.sidebar.info[0].value]
    assert at.warning[0].value.startswith("No edits for this model: directions file")


def test_no_model_at_all_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(webapp, "shipped_model", lambda name: tmp_path / "models" / name)
    monkeypatch.setenv(webapp.MODELS_ENV, "")
    message = one_error(start())
    assert "No generator found" in message and "facegan train" in message


def test_generate_blend_edit_work_for_a_model_trained_here(tiny_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = train(tiny_config(), progress=False)
    assert cli(["directions", "--generator", str(run), "--classifier", str(webapp.shipped_model(webapp.CLASSIFIER)),
                "--n", "300", "--share", "0.2", "--attributes", "age,gender,smile", "--sefa", "0"]) == 0
    label = f"runs/{run.name}"
    for tab, images in (("Generate", 16), ("Blend", 4), ("Edit", 2)):
        at = start(tab)
        at.selectbox(key="model").set_value(label).run()
        assert len(clean(at).get("image")) == images, tab
    assert [s.key for s in at.slider] == ["edit_age", "edit_gender", "edit_smile"]
    at.slider(key="edit_smile").set_value(-2.0).run()
    clean(at)


def test_a_style_generator_gets_a_truncation_slider(tmp_path, monkeypatch):
    G, _ = tiny_stylegan(16)
    export_generator(G, tmp_path / "style" / "generator.safetensors")
    monkeypatch.setenv(webapp.MODELS_ENV, str(tmp_path / "style"))
    for tab, images in (("Generate", 16), ("Blend", 4)):
        at = start(tab)
        at.selectbox(key="model").set_value("style/generator.safetensors").run()
        assert clean(at).slider(key="truncation").value == 0.7
        before = [image.proto.SerializeToString() for image in at.get("image")]
        at.slider(key="truncation").set_value(0.2).run()
        assert len(clean(at).get("image")) == images
        assert [image.proto.SerializeToString() for image in at.get("image")] != before  # new pictures


def test_an_unexpected_failure_is_one_line_too(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch somewhere deep\n  with a second line")

    monkeypatch.setattr(webapp, "make_grid", broken)
    assert one_error(start()) == ("Generate failed (RuntimeError: shape mismatch somewhere deep). "
                                  "Try another model or input.")


def test_a_stylegan3_gets_rotate_and_move_sliders_that_turn_its_faces(tmp_path, monkeypatch):
    fixture = Path(__file__).parent / "fixtures" / "stylegan3" / "stylegan3-r16-p4.pkl"  # NVIDIA-written
    assert cli(["import", "stylegan3", str(fixture), "--out", str(tmp_path / "sg3" / "r16.safetensors")]) == 0
    monkeypatch.setenv(webapp.MODELS_ENV, str(tmp_path / "sg3"))
    at = start("Generate")
    at.selectbox(key="model").set_value("sg3/r16.safetensors").run()
    assert clean(at).slider(key="rotate").value == 0
    before = [image.proto.SerializeToString() for image in at.get("image")]
    at.slider(key="rotate").set_value(90).run()
    turned = [image.proto.SerializeToString() for image in clean(at).get("image")]
    assert len(turned) == 16 and turned != before
    at.slider(key="move_x").set_value(0.2).run()
    assert [image.proto.SerializeToString() for image in clean(at).get("image")] != turned
    at = start("Generate")  # a StyleGAN2 has no such sliders
    assert not [s for s in clean(at).slider if s.key in ("rotate", "move_x", "move_y")]
