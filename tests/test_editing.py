"""Faces you can dial (facegan.editing.directions, facegan.editing.projection): directions recover a planted attribute,
conditioning is orthogonal, strength 0 changes nothing, SeFa's closed form, projection lowers its
loss, files are tied to their generator, and every bad input gets one line."""
import numpy as np
import pytest
import torch
from PIL import Image
from test_styles import tiny as tiny_stylegan
from torch import nn

from facegan.cli import main
from facegan.editing import directions as editing
from facegan.editing.names import parse_edits, resolve_name
from facegan.editing.projection import load_photo, project, reconstruction_quality
from facegan.errors import FaceganError
from facegan.interop.export import export_generator
from facegan.latent import codes_for_seeds, latent_space, render
from facegan.models.contract import GeneratorBase
from facegan.models.dcgan import Generator as DCGAN

PLANTED = torch.nn.functional.normalize(torch.arange(1.0, 9.0) * torch.tensor([1, -1] * 4), dim=0)  # (8,)


class ToyGenerator(GeneratorBase):
    """z (N, 8) -> 64x64 faces whose brightness is tanh of z along PLANTED (and noise elsewhere)."""
    latent_dim, resolution, channels = 8, 64, 3

    def __init__(self):
        super().__init__()
        self.texture = nn.Parameter(torch.randn(8, 3, 64, 64) * 0.05)

    def forward(self, z):
        brightness = torch.tanh(z @ PLANTED)[:, None, None, None]  # (N, 1, 1, 1)
        return (brightness + torch.einsum("nd,dchw->nchw", z, self.texture)).clamp(-1, 1)

    def arch(self):
        return {"arch": "toy"}


class BrightnessClassifier(nn.Module):
    """Attribute 0 ('Smiling') = mean brightness; attribute 1 ('Male') = pure noise."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, images):
        noise = torch.randn(len(images), generator=torch.Generator().manual_seed(len(images)))
        return torch.stack([8 * images.mean(dim=(1, 2, 3)), noise], dim=1)


def test_fitted_direction_recovers_a_planted_linear_attribute():
    directions = editing.fit_directions(ToyGenerator(), BrightnessClassifier(), ("Smiling", "Male"),
                                        ("Smiling",), samples=2000, sefa=0, say=lambda *a: None)
    assert directions.names == ("Smiling",) and directions.space == "z"
    cosine = float(directions.vectors[0] @ PLANTED)
    assert cosine > 0.97, f"fitted direction is {cosine:.3f} from the planted one"
    assert directions.info["fit_accuracy"]["Smiling"] > 0.95
    assert abs(float(directions.scales[0]) - 1.0) < 0.1  # z ~ N(0, I): std 1 along any unit vector
    # logistic regression finds it too, and a pure-noise attribute gives a chance-level fit
    codes = torch.randn(2000, 8)
    vector, accuracy = editing.fit_direction(codes, torch.rand(2000), method="logistic")
    assert accuracy < 0.75 and abs(float(vector.norm()) - 1) < 1e-5


def test_conditional_direction_is_orthogonal_to_every_condition():
    vectors = torch.nn.functional.normalize(torch.randn(3, 16), dim=1)
    d = editing.Directions(("Young", "Male", "Smiling"), vectors, torch.ones(3), "z", {})
    kept = d.vector("Young", ["Male", "Smiling"])
    assert abs(float(kept.norm()) - 1) < 1e-5
    assert abs(float(kept @ vectors[1])) < 1e-5 and abs(float(kept @ vectors[2])) < 1e-5
    assert float(kept @ vectors[0]) > 0  # still points the same way
    assert torch.equal(d.vector("Young"), vectors[0])
    same = editing.Directions(("Young", "Male"), torch.stack([vectors[0], vectors[0]]), torch.ones(2), "z", {})
    with pytest.raises(FaceganError, match="lies within Male"):
        same.vector("Young", ["Male"])


def test_edit_at_strength_zero_is_the_identity_and_strength_moves_by_scales():
    d = editing.Directions(("Young", "Male"), torch.eye(4)[:2], torch.tensor([2.0, 3.0]), "z", {})
    codes = torch.randn(5, 4)
    assert torch.equal(editing.edit_codes(codes, d, {"age": 0.0, "gender": 0.0}), codes)
    moved = editing.edit_codes(codes, d, {"age": 1.0})  # age = -Young, 1 std of 2.0
    assert torch.allclose(moved - codes, torch.tensor([-2.0, 0, 0, 0]).expand(5, 4))
    plus = torch.randn(2, 6, 4)  # W+ codes: the same move on every layer
    assert torch.allclose(editing.edit_codes(plus, d, {"Male": 1.0}) - plus, torch.tensor([0, 3.0, 0, 0]).expand(2, 6, 4))
    strip = editing.strip_codes(codes[0], d, "gender", torch.linspace(-3, 3, 7))
    assert strip.shape == (7, 4) and torch.equal(strip[3], codes[0])


def test_sefa_directions_are_the_top_eigenvectors_of_the_first_layer():
    G = DCGAN(latent_dim=16, width=0.125, resolution=16)
    vectors = editing.sefa_directions(G, 3)
    assert vectors.shape == (3, 16)
    assert torch.allclose(vectors @ vectors.T, torch.eye(3), atol=1e-5)
    a = G.net[0].weight.detach().reshape(16, -1)
    a = a / a.norm(dim=0, keepdim=True)
    top = np.linalg.svd(a.numpy())[0][:, 0]  # left singular vector = top eigenvector of A A^T
    assert abs(float(np.dot(top, vectors[0].numpy()))) > 0.999
    S, _ = tiny_stylegan()
    assert editing.sefa_directions(S, 4).shape == (4, S.w_dim)


def test_style_generator_codes_are_w_and_render_as_the_seed_does():
    from facegan.latent import sample

    G, _ = tiny_stylegan()
    codes = codes_for_seeds(G, [3, 4])
    assert latent_space(G) == "w" and codes.shape == (2, G.w_dim)
    assert torch.allclose(render(G, codes), torch.cat([sample(G, 1, 3), sample(G, 1, 4)]), atol=1e-5)
    plus = codes[:, None].repeat(1, G.num_ws, 1)
    assert torch.allclose(render(G, plus), render(G, codes))
    with pytest.raises(FaceganError, match=r"latent of shape \(5,\) does not fit this generator"):
        render(G, torch.zeros(1, 5))


def test_directions_and_latents_are_tied_to_their_generator(tmp_path):
    G, other = DCGAN(latent_dim=16, width=0.125, resolution=16), DCGAN(latent_dim=16, width=0.125, resolution=16)
    d = editing.Directions(("Young",), torch.eye(16)[:1], torch.ones(1), "z",
                           {"method": "svm", "generator": editing.generator_digest(G)})
    path = editing.save_directions(d, tmp_path / "g.directions.safetensors")
    loaded = editing.load_directions(path, G)
    assert loaded.names == ("Young",) and torch.equal(loaded.vectors, d.vectors) and loaded.info["method"] == "svm"
    with pytest.raises(FaceganError, match="directions of another generator"):
        editing.load_directions(path, other)
    latent = editing.save_latent(tmp_path / "latent.safetensors", torch.randn(1, 16), G, {})
    assert editing.load_latent(latent, G).shape == (1, 16)
    with pytest.raises(FaceganError, match="projected with another generator"):
        editing.load_latent(latent, other)
    wide = DCGAN(latent_dim=32, width=0.125, resolution=16)
    with pytest.raises(FaceganError, match=r"latent of shape \(16,\) does not fit"):
        editing.load_latent(latent, wide)
    with pytest.raises(FaceganError, match="not a facegan directions file"):
        editing.load_directions(latent)
    with pytest.raises(FaceganError, match="not found; fit them with: facegan directions"):
        editing.load_directions(tmp_path / "missing.safetensors")


def test_projection_lowers_its_loss_and_reconstructs_a_generated_face():
    torch.manual_seed(0)
    G = DCGAN(latent_dim=16, width=0.125, resolution=16).eval()
    target = G(torch.randn(1, 16)).detach()
    code, face, history = project(G, target, steps=60, lr=0.05, candidates=8, say=lambda *a: None)
    assert code.shape == (1, 16) and face.shape == target.shape
    assert history[-1] < 0.5 * history[0]
    assert reconstruction_quality(face, target)["psnr"] > reconstruction_quality(G(torch.zeros(1, 16)).detach(),
                                                                                 target)["psnr"]
    S, _ = tiny_stylegan()
    target = S.synthesis(S.mapping(torch.randn(1, 8))).detach()
    for space in ("w", "w+"):
        code, _, history = project(S, target, space=space, steps=30, candidates=4, say=lambda *a: None)
        assert history[-1] < history[0]
        assert code.shape == ((1, S.w_dim) if space == "w" else (1, S.num_ws, S.w_dim))
    with pytest.raises(FaceganError, match="latent space is w: use --space w or w"):
        project(S, target, space="z")
    code, _, _ = project(S, target, steps=1, candidates=2, say=lambda *a: None)  # default: W+ for style generators
    assert code.shape == (1, S.num_ws, S.w_dim)


def test_perceptual_loss_uses_the_classifiers_stages():
    from facegan.editing.projection import perceptual_distance
    from facegan.models.classifiers.attributes import AttributeClassifier

    classifier = AttributeClassifier(2, width=4).eval()
    a, b = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    assert torch.allclose(perceptual_distance(classifier, a, a), torch.zeros(2))
    assert (perceptual_distance(classifier, a, b) > 0).all()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("not a picture"), "is not an image PIL can read"),
    (lambda p: Image.new("RGB", (40, 40), "red").save(p, format="PNG"), "40x40: too small"),
    (lambda p: Image.new("RGB", (400, 100), "red").save(p, format="PNG"), "not a face-like crop; crop it"),
    (lambda p: Image.new("RGB", (100, 100), (90, 90, 90)).save(p, format="PNG"), "nearly one flat colour"),
])
def test_bad_photos_get_one_line(tmp_path, make, message):
    path = tmp_path / "photo.png"
    make(path)
    with pytest.raises(FaceganError, match=message):
        load_photo(path, 64)


def test_photo_is_centre_cropped_and_resized(tmp_path):
    pixels = np.zeros((100, 160, 3), dtype=np.uint8)
    pixels[:, :, 0] = 255  # red margins left and right of a 100x100 centre
    pixels[:, 30:130] = [0, 0, 255]
    pixels[40:60, 70:90] = [255, 255, 255]  # a white square in the middle of the centre
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    photo = load_photo(tmp_path / "wide.png", 64)
    assert photo.shape == (1, 3, 64, 64) and photo.min() >= -1 and photo.max() <= 1
    assert photo[0, 0, :, :2].max() < -0.9 and photo[0, 0, :, -2:].max() < -0.9  # no red margin kept
    assert photo[0, 2, 0, 0] > 0.9 and photo[0, :, 32, 32].min() > 0.9  # blue at the edge, white in the middle


def test_attribute_names_and_edit_strings():
    assert resolve_name("age") == ("Young", -1) and resolve_name("beard") == ("No_Beard", -1)
    assert resolve_name("Smiling") == ("Smiling", 1) and resolve_name("sefa-3") == ("sefa-3", 1)
    assert parse_edits("age=+2,smile=-1.5") == {"age": 2.0, "smile": -1.5}
    for bad, message in [("ageing=+1", "unknown attribute 'ageing'"), ("age", "name=strength pairs"),
                         ("age=old", "name=strength pairs"), (",", "at least one name=strength")]:
        with pytest.raises(FaceganError, match=message):
            parse_edits(bad)


def test_directions_edit_project_from_the_cli(tmp_path, capsys):
    from facegan.editing.attribute_classifier import save_classifier
    from facegan.models.classifiers.attributes import AttributeClassifier

    torch.manual_seed(0)
    G = DCGAN(latent_dim=16, width=0.125, resolution=64)
    generator = export_generator(G, tmp_path / "generator.safetensors")
    classifier = save_classifier(AttributeClassifier(3, width=4), tmp_path / "attrs.safetensors",
                                 ("Young", "Male", "Smiling"), {})
    common = ["--generator", str(generator), "--device", "cpu"]
    assert main(["directions", *common, "--classifier", str(classifier), "--n", "400", "--share", "0.25",
                 "--attributes", "age,gender,smile", "--sefa", "2"]) == 0
    directions = tmp_path / "generator.directions.safetensors"
    assert directions.is_file() and "wrote 5 directions in z" in capsys.readouterr().out

    assert main(["edit", *common, "--seed", "1,2", "--edit", "age=+2,smile=-1", "--condition", "sefa-1",
                 "--out", str(tmp_path / "edit.png")]) == 0
    assert Image.open(tmp_path / "edit.png").size == (2 * 66 + 2, 2 * 66 + 2)  # 2 seeds x (before, after)
    assert main(["edit", *common, "--strip", "sefa-1", "--steps", "5", "--out", str(tmp_path / "strip.png"),
                 "--gif", str(tmp_path / "strip.gif")]) == 0
    assert Image.open(tmp_path / "strip.png").size == (5 * 66 + 2, 66 + 2)
    gif = Image.open(tmp_path / "strip.gif")
    assert gif.n_frames == 8  # 5 forth, 3 back

    photo = tmp_path / "me.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 100, 3), dtype=np.uint8)).save(photo)
    assert main(["project", str(photo), *common, "--classifier", str(classifier), "--steps", "5",
                 "--out", str(tmp_path / "proj")]) == 0
    assert "reconstruction PSNR" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "proj").iterdir()} == {"latent.safetensors", "target.png", "reconstruction.png"}
    assert main(["edit", *common, "--latent", str(tmp_path / "proj" / "latent.safetensors"), "--edit", "gender=1",
                 "--out", str(tmp_path / "mine.png")]) == 0
    assert Image.open(tmp_path / "mine.png").size == (2 * 66 + 2, 66 + 2)


@pytest.mark.parametrize("args, message", [
    (["edit", "--edit", "ageing=1"], "unknown attribute 'ageing'"),
    (["edit", "--strip", "age", "--condition", "sex"], "unknown attribute 'sex'"),
    (["edit", "--strip", "age", "--steps", "1"], "--steps must be"),
    (["edit", "--strip", "sefa-9"], "no direction 'sefa-9' for this generator"),
    (["edit", "--edit", "age=1", "--gif", "x.gif"], "--gif animates a --strip"),
    (["edit", "--edit", "age=1", "--seed", "a"], "--seed takes comma-separated integer seeds"),
    (["directions", "--share", "0.7"], "--share is the share of faces on each side"),
    (["directions", "--attributes", "Smiles"], "unknown attribute 'Smiles'"),
    (["project", "nothere.png"], "photo nothere.png not found"),
])
def test_editing_command_mistakes_get_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    G = DCGAN(latent_dim=16, width=0.125, resolution=64)
    export_generator(G, tmp_path / "generator.safetensors")
    d = editing.Directions(("Young", "sefa-1"), torch.eye(16)[:2], torch.ones(2), "z",
                           {"generator": editing.generator_digest(G)})
    editing.save_directions(d, tmp_path / "generator.directions.safetensors")
    assert main([*args[:1], "--generator", "generator.safetensors", *args[1:]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_edit_with_directions_of_another_generator_says_so(tmp_path, capsys):
    for name, seed in (("a", 0), ("b", 1)):
        torch.manual_seed(seed)
        export_generator(DCGAN(latent_dim=16, width=0.125, resolution=64), tmp_path / f"{name}.safetensors")
    d = editing.Directions(("Young",), torch.eye(16)[:1], torch.ones(1), "z",
                           {"generator": editing.generator_digest(DCGAN(latent_dim=16, width=0.125, resolution=64))})
    editing.save_directions(d, tmp_path / "b.directions.safetensors")
    assert main(["edit", "--generator", str(tmp_path / "a.safetensors"), "--directions",
                 str(tmp_path / "b.directions.safetensors"), "--strip", "age", "--device", "cpu"]) == 2
    assert "directions of another generator" in capsys.readouterr().err
