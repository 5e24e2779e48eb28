"""The app's logic without Streamlit (facegan.app.logic): which models are listed, what a loaded model
carries (directions, card, metrics), the pictures (grid, blend, edit) pixel for pixel against the
editing API, HD faces shown small and downloaded full size, and one line for every bad upload."""
import dataclasses
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_styles import tiny as tiny_stylegan
from torch import nn

from facegan.app import logic as webapp
from facegan.editing import directions as editing
from facegan.errors import FaceganError
from facegan.interop.export import export_generator
from facegan.latent import sample
from facegan.models.contract import GeneratorBase
from facegan.models.dcgan import Generator as DCGAN


def tiny_export(path, seed=0, directions=("Young", "Male", "Smiling")):
    """A tiny DCGAN export (16-d z, 64 px) and, unless ``directions`` is empty, unit directions for it."""
    torch.manual_seed(seed)
    G = DCGAN(latent_dim=16, width=0.125, resolution=64)
    G(torch.randn(8, 16))  # move the BatchNorm statistics off their init
    export_generator(G.eval(), path, {"data": "synthetic", "epochs": 2, "name": "tiny"})
    if directions:
        vectors = torch.linalg.qr(torch.randn(16, len(directions)))[0].T.contiguous()  # orthonormal rows
        d = editing.Directions(tuple(directions), vectors, torch.ones(len(directions)), "z",
                               {"generator": editing.generator_digest(G.eval())})
        editing.save_directions(d, editing.directions_path(path))
    return path


def decode(png: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    return np.asarray(img.convert("RGB"))


def as_uint8(image: torch.Tensor) -> np.ndarray:
    return image.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


@pytest.fixture
def model(tmp_path):
    return webapp.load_model(tiny_export(tmp_path / "runs" / "001-tiny" / "generator.safetensors"))


# ----------------------------------------------------------------------------- listing
def test_listing_finds_shipped_runs_and_extra_folders_by_metadata(tmp_path, monkeypatch):
    tiny_export(tmp_path / "runs" / "001-a" / "generator.safetensors")
    (tmp_path / "runs" / "002-broken").mkdir(parents=True)
    (tmp_path / "runs" / "002-broken" / "generator.safetensors").write_bytes(b"not safetensors at all")
    (tmp_path / "runs" / "003-training").mkdir()  # no export yet: not listed
    extra = tmp_path / "hd"
    tiny_export(extra / "ffhq.safetensors", directions=("Smiling",))  # its directions file is not a model
    editing.save_directions(editing.Directions(("Male",), torch.eye(16)[:1], torch.ones(1), "z", {}),
                            extra / "loose.safetensors")  # another facegan file: told apart by its format
    tiny_export(extra / "002-x" / "generator.safetensors", directions=())
    monkeypatch.setenv(webapp.MODELS_ENV, str(extra))

    choices = webapp.list_models(tmp_path)
    labels = [c.label for c in choices]
    assert labels[0] == "stylegan64 (shipped)" and choices[0].path.name == webapp.DEFAULT_MODEL
    assert "runs/001-a" in labels and "runs/002-broken (unreadable)" in labels
    assert {"hd/ffhq.safetensors", "hd/002-x/generator.safetensors"} <= set(labels)
    assert not any("directions" in label or "loose" in label or "attributes" in label or "003" in label
                   for label in labels), labels
    assert webapp.list_models(tmp_path, extra="")[-1].label == "runs/002-broken (unreadable)"  # env overridden


def test_model_key_changes_when_a_run_exports_again(tmp_path):
    """The key is the path, modification time and size. The times are set here: two exports in a row
    can share one timestamp on a coarse clock, and an export of the same net has the same size."""
    path = tiny_export(tmp_path / "generator.safetensors")
    exported_at = 1_700_000_000 * 10**9
    os.utime(path, ns=(exported_at, exported_at))
    key = webapp.model_key(path)
    assert webapp.model_key(path) == key  # read again, unchanged: the cached model is reused
    size = path.stat().st_size
    tiny_export(path, seed=1)  # a re-export: other weights, same size, one nanosecond later
    os.utime(path, ns=(exported_at + 1, exported_at + 1))
    assert path.stat().st_size == size and webapp.model_key(path) != key
    assert webapp.model_key(path)[0] == str(path.resolve()) and webapp.model_key(tmp_path / "gone")[1:] == (0, 0)


# ----------------------------------------------------------------------------- a loaded model
def test_loaded_model_has_its_directions_card_and_metrics(model, tmp_path):
    assert model.edit_names() == ["age", "gender", "smile"] and model.no_edits == ""
    assert not model.is_style and model.resolution == 64
    facts = dict(model.facts)
    assert facts["architecture"].startswith("dcgan, 64×64 px, z 16-d")
    assert facts["training data"] == "facegan's built-in procedural faces (synthetic)"
    assert "run tiny" in facts["training"]
    assert facts["metrics"].startswith("not measured yet: facegan eval --generator")
    assert "non-commercial" in model.card  # the fallback card: licence and biases

    run = model.path.parent
    (run / "metrics.jsonl").write_text(json.dumps({"swd_avg": 99.0}) + "\n" + json.dumps(
        {"epoch": 5, "swd_avg": 24.84, "msssim": 0.3214, "msssim_real": 0.2671, "data": "celeba"}) + "\n")
    (run / "generator.md").write_text("---\nlicense: other\ntags:\n- gan\n---\n\n# tiny\nA card written by a person.")
    again = webapp.load_model(model.path)
    assert dict(again.facts)["metrics"] == "SWD avg ×1e3 24.8 · MS-SSIM 0.321 (real 0.267), against celeba"
    assert again.card.startswith("# tiny")  # the Hub's YAML front matter is not shown on the page


def test_the_shipped_cards_carry_hugging_face_front_matter():
    """Each card in models/ opens with the model-card metadata the Hub reads (licence, datasets, tags,
    library, task), flat YAML that this small reader checks key by key."""
    for card in sorted(Path(webapp.shipped_model("x").parent).glob("*.md")):
        lines = card.read_text().splitlines()
        assert lines[0] == "---" and "---" in lines[1:], card
        block = lines[1:lines.index("---", 1)]
        keys = {line.split(":")[0] for line in block if not line.startswith("- ")}
        assert {"license", "license_name", "license_link", "library_name", "datasets", "tags",
                "pipeline_tag"} <= keys, card
        lists = {key: [] for key in ("datasets", "tags")}
        current = None
        for line in block:
            current = line.split(":")[0] if not line.startswith("- ") else current
            if line.startswith("- ") and current in lists:
                lists[current].append(line[2:])
        assert lists["datasets"] == ["celeba"] and lists["tags"], card


def test_missing_or_foreign_directions_turn_edits_off_with_a_line(tmp_path):
    bare = webapp.load_model(tiny_export(tmp_path / "a.safetensors", directions=()))
    assert bare.directions is None and bare.edit_names() == []
    assert bare.no_edits.startswith("No edits for this model: directions file") and "facegan directions" in bare.no_edits
    with pytest.raises(FaceganError, match="No edits for this model"):
        webapp.edited_face(bare, torch.zeros(1, 16), {"age": 1})
    tiny_export(tmp_path / "b.safetensors", seed=1)
    (tmp_path / "b.directions.safetensors").rename(tmp_path / "a.directions.safetensors")  # another G's
    assert "directions of another generator" in webapp.load_model(tmp_path / "a.safetensors").no_edits


@pytest.mark.parametrize("content, message", [
    (None, "generator file .* not found"),
    (b"garbage", "not a readable safetensors file"),
])
def test_missing_or_broken_model_files_raise_one_line(tmp_path, content, message):
    path = tmp_path / "generator.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FaceganError, match=message) as info:
        webapp.load_model(path)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------- pictures
def test_grid_faces_are_the_seeds_faces_shown_larger_and_downloaded_full_size(model):
    grid = webapp.make_grid(model, 41, 5)
    assert grid.seeds == [41, 42, 43, 44, 45] and grid.faces.shape == (5, 3, 64, 64)
    for seed, face, tile, png in zip(grid.seeds, grid.faces, grid.tiles, grid.pngs):
        expected = sample(model.generator, 1, seed)[0]  # face s is what `facegan sample --seed s --n 1` draws
        assert torch.allclose(face, expected, atol=1e-5)
        assert np.array_equal(decode(png), as_uint8(face))  # the download is the face itself, lossless
        assert tile == png  # up to 256 px the page shows the same PNG
    assert decode(webapp.grid_png(grid.faces)).shape == (2 + 66, 2 + 5 * 66, 3)  # one row of 5
    assert decode(webapp.grid_png(webapp.make_grid(model, 0, 16).faces)).shape == (2 + 2 * 66, 2 + 8 * 66, 3)
    for n in (0, 17):
        with pytest.raises(FaceganError, match="1 to 16 faces"):
            webapp.make_grid(model, 0, n)
    with pytest.raises(FaceganError, match="truncation applies to style generators"):
        webapp.make_grid(model, 0, 4, truncation=0.7)


def test_blend_starts_at_a_ends_at_b_and_its_gif_goes_there_and_back(model):
    a, b = webapp.make_grid(model, 3, 1).faces[0], webapp.make_grid(model, 9, 1).faces[0]
    assert torch.allclose(webapp.blend_face(model, 3, 9, 0.0)[0], a, atol=1e-5)
    assert torch.allclose(webapp.blend_face(model, 3, 9, 1.0)[0], b, atol=1e-5)
    middle = webapp.blend_face(model, 3, 9, 0.5)[0]
    apart = (a - b).abs().mean()  # an untrained net's faces are faint: compare with their difference
    assert (middle - a).abs().mean() > 0.2 * apart and (middle - b).abs().mean() > 0.2 * apart
    gif = Image.open(io.BytesIO(webapp.blend_gif(model, 3, 9, frames=6)))
    assert gif.format == "GIF" and gif.n_frames == 10 and gif.size == (256, 256)  # 6 forth, 4 back, enlarged


def test_edits_move_along_the_direction_and_keep_gender_keeps_it(model):
    code = webapp.seed_codes(model, [5])
    before = webapp.make_grid(model, 5, 1).faces
    assert torch.allclose(webapp.edited_face(model, code, {"age": 0.0, "smile": 0.0}), before, atol=1e-5)
    plain = webapp.edited_code(model, code, {"age": 2.0})
    kept = webapp.edited_code(model, code, {"age": 2.0}, keep_gender=True)
    d = model.directions
    young, male = d.vectors[d.index("Young")], d.vectors[d.index("Male")]
    assert torch.allclose((plain - code)[0], -2.0 * young, atol=1e-5)  # age +2 = 2 std less "Young"
    assert abs(float((kept - code)[0] @ male)) < 1e-5  # orthogonal to gender
    assert float((kept - code)[0] @ young) < -0.5  # still older
    changed = webapp.edited_face(model, code, {"age": 2.0})
    apart = (before - webapp.make_grid(model, 6, 1).faces).abs().mean()  # two faces' difference
    assert (changed - before).abs().mean() > 0.2 * apart
    with pytest.raises(FaceganError, match="no direction for glasses"):
        webapp.edited_face(model, code, {"glasses": 1.0})


class HDGenerator(GeneratorBase):
    """z (N, 8) -> 512 px images: stands in for an imported HD StyleGAN2 (no mapping: a z generator)."""
    latent_dim, resolution, channels = 8, 512, 3

    def __init__(self):
        super().__init__()
        self.colour = nn.Linear(8, 3)

    def forward(self, z):
        ramp = torch.linspace(-1, 1, 512)
        return torch.tanh(self.colour(z)[:, :, None, None] + ramp[None, None, :, None] * ramp)

    def arch(self):
        return {"arch": "hd-toy"}


def test_hd_faces_are_shown_at_256_px_and_downloaded_at_full_size():
    hd = webapp.LoadedModel(path=None, generator=HDGenerator().eval(), directions=None, no_edits="", facts=[],
                            card="")
    grid = webapp.make_grid(hd, 0, 2)
    assert decode(grid.tiles[0]).shape == (256, 256, 3) and decode(grid.pngs[0]).shape == (512, 512, 3)
    assert Image.open(io.BytesIO(webapp.blend_gif(hd, 0, 1, frames=3))).size == (256, 256)


def test_style_generators_take_truncation_and_blend_in_w(tmp_path):
    G, cfg = tiny_stylegan(16)
    path = export_generator(G, tmp_path / "style.safetensors", dataclasses.asdict(cfg))
    style = webapp.load_model(path)
    assert style.is_style and "W 12-d" in dict(style.facts)["architecture"]
    full, truncated = webapp.make_grid(style, 0, 2).faces, webapp.make_grid(style, 0, 2, truncation=0.5).faces
    assert (full - truncated).abs().mean() > 1e-3
    ws = webapp.seed_codes(style, [0, 1], 0.5)
    halfway = webapp.blend_codes(style, 0, 1, torch.tensor([0.5]), 0.5)
    assert torch.allclose(halfway[0], (ws[0] + ws[1]) / 2, atol=1e-5)  # a straight line in W
    target = webapp.make_grid(style, 3, 1).faces[:1]
    projection = webapp.project_photo(style, target, classifier=None, steps=3)
    assert projection.code.shape == (1, G.num_ws, 12)  # a photo is searched in W+: one w per layer
    assert projection.reconstruction.shape == target.shape


# ----------------------------------------------------------------------------- your photo
def png_of(array: np.ndarray, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def face_like(side=96) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)


def bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (8000, 7000)).save(buffer, format="PNG")  # 56 megapixels in a few kB
    return buffer.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("me.gif", lambda: png_of(face_like(), "GIF"), r"upload a photo in one of jpg, jpeg, png, webp \(got .gif\)"),
    ("me", lambda: b"x", r"\(got .\?\)"),
    ("me.png", lambda: b"", "me.png is empty"),
    ("me.jpg", lambda: b"\xff" * (8 * 2**20 + 1), "8.0 MB; photos up to 8 MB are accepted"),
    ("me.png", lambda: b"just some text", "not a readable image; upload a JPEG, PNG or WebP photo"),
    ("me.png", lambda: png_of(face_like(), "GIF"), "holds a GIF image"),
    ("me.png", bomb, "8000x7000: more than 50 megapixels"),
    ("me.png", lambda: png_of(face_like(40)), "40x40: too small"),
    ("me.webp", lambda: png_of(face_like(300)[:100].copy(), "WEBP"), "300x100: not a face-like crop"),
    ("me.png", lambda: png_of(np.full((80, 80, 3), 128, np.uint8)), "nearly one flat colour"),
])
def test_every_bad_upload_gets_one_line(model, name, data, message):
    with pytest.raises(FaceganError, match=message) as info:
        webapp.photo_target(model, name, data())
    assert "\n" not in str(info.value) and "/tmp" not in str(info.value)  # named as uploaded, not by a temp path


def test_an_uploaded_photo_is_projected_and_edited(model):
    target = webapp.photo_target(model, "me.jpg", png_of(face_like(120), "JPEG"))
    assert target.shape == (1, 3, 64, 64) and target.min() >= -1 and target.max() <= 1
    projection = webapp.project_photo(model, target, classifier=None, steps=5)
    assert projection.code.shape == (1, 16) and projection.reconstruction.shape == (1, 3, 64, 64)
    assert projection.seconds > 0 and 0 < projection.psnr < 100
    edited = webapp.edited_face(model, projection.code, {"smile": 2.0})
    apart = webapp.make_grid(model, 0, 2).faces.diff(dim=0).abs().mean()
    assert (edited - projection.reconstruction).abs().mean() > 0.2 * apart


def test_the_shipped_classifier_loads_for_projection():
    classifier, note = webapp.load_photo_classifier()
    assert classifier is not None and note == ""
