"""The digits GAN (the roadmap's vanilla GAN): MNIST's IDX files and their download, the built-in digits,
the mlp architecture through the trainer, export and CLI, the digit classifier and its report, and the
one-line message of each bad input."""
import gzip
import hashlib
import http.server
import json
import math
import struct
import threading

import numpy as np
import pytest
import torch
from conftest import state_tensors, write_image
from PIL import Image

from facegan.cli import main
from facegan.config import build_config
from facegan.data import DEFAULT_MNIST_DIR, SYNTHETIC_DIGITS, mnist, synthetic_digits
from facegan.data import images as data
from facegan.data.synthetic_digits import render_digits
from facegan.errors import FaceganError
from facegan.evaluation import digits as fd
from facegan.interop import download
from facegan.interop.export import export_generator, load_generator
from facegan.models import build_models, generator_from_meta
from facegan.models.mlp import Discriminator, Generator
from facegan.training import state as ckpt
from facegan.training.loop import resume_config, train


# ----------------------------------------------------------------------------- IDX files
def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file: 0, 0, type, number of dimensions; one big-endian uint32 per dimension; the values."""
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder, n_train=40, n_test=20, gz=True, names=("train", "t10k")):
    """MNIST's four files in ``folder``, holding built-in digits (train: the first n_train; t10k: the next
    n_test); returns {split: (images, labels)}."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, prefix, n, start in (("train", names[0], n_train, 0), ("test", names[1], n_test, n_train)):
        images, labels = render_digits(n, start=start)
        for kind, array in (("images-idx3-ubyte", images[:, 0].numpy()), ("labels-idx1-ubyte", labels.numpy())):
            raw = idx_bytes(array)
            path = folder / f"{prefix}-{kind}{'.gz' if gz else ''}"
            path.write_bytes(gzip.compress(raw) if gz else raw)
        out[split] = (images, labels)
    return out


def test_idx_files_parse_gzipped_or_raw_with_their_shapes(tmp_path):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    labels = np.array([7, 3])
    (tmp_path / "i").write_bytes(idx_bytes(images))
    (tmp_path / "l.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    assert np.array_equal(mnist.read_idx(tmp_path / "i", ndim=3), images)
    assert mnist.read_idx(tmp_path / "l.gz", ndim=1).tolist() == [7, 3]  # gunzipped by its magic bytes
    assert idx_bytes(images)[:4].hex() == "00000803" and idx_bytes(labels)[:4].hex() == "00000801"


@pytest.mark.parametrize("damage, message", [
    (lambda raw: b"PK\x03\x04" + raw[4:], "not an IDX file .*magic number 504b0304"),
    (lambda raw: raw[:2] + b"\x0d" + raw[3:], "IDX type 0x0d"),
    (lambda raw: raw[:-1], "is truncated: its header announces 3x28x28 = 2,352 values, the file holds 2,351"),
    (lambda raw: raw + b"\x00", "has trailing bytes"),
    (lambda raw: raw[:10], "is truncated: 10 bytes, shorter than its 16-byte header"),
    (lambda raw: b"", "not an IDX file"),
    (lambda raw: gzip.compress(raw)[:40], "broken gzip file"),
])
def test_damaged_idx_files_get_one_line(tmp_path, damage, message):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(damage(idx_bytes(np.zeros((3, 28, 28)))))
    with pytest.raises(FaceganError, match=message) as error:
        mnist.read_idx(path, ndim=3)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_swapped_or_mismatched_files_are_named(tmp_path):
    write_mnist(tmp_path, n_train=10, n_test=10, gz=False)
    images = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(images)  # an image file where the labels belong
    with pytest.raises(FaceganError, match="has 3 dimensions .*expected labels .*swapped"):
        mnist.load_split(tmp_path, "train")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(9) % 10))
    with pytest.raises(FaceganError, match="holds 10 images but train-labels-idx1-ubyte 9 labels"):
        mnist.load_split(tmp_path, "train")
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(FaceganError, match="lacks MNIST's train-labels-idx1-ubyte .*facegan download mnist"):
        mnist.load_split(tmp_path, "train")


@pytest.mark.parametrize("layout", ["gz", "raw", "dotted", "torchvision"])
def test_an_mnist_folder_loads_as_labelled_digits_in_any_usual_layout(tmp_path, layout):
    folder = tmp_path / "mnist"
    where = folder / "MNIST" / "raw" if layout == "torchvision" else folder
    written = write_mnist(where, gz=layout == "gz")
    if layout == "dotted":  # some mirrors name them train-images.idx3-ubyte
        for path in list(where.iterdir()):
            path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    assert mnist.is_mnist_folder(folder)
    faces = data.load_faces(str(folder), progress=False, size=28)
    assert faces.images.shape == (40, 1, 28, 28) and torch.equal(faces.images, written["train"][0])
    assert torch.equal(faces.attributes["digit"], written["train"][1])
    test = data.load_mnist(folder, split="test")
    assert torch.equal(test.images, written["test"][0]) and len(test) == 20
    big = data.load_faces(str(folder), progress=False, size=32)  # resized, anti-aliased
    assert big.images.shape == (40, 1, 32, 32) and abs(big.images.float().mean() - faces.images.float().mean()) < 3


def test_the_default_mnist_folder_falls_back_to_the_builtin_digits_with_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    faces = data.load_faces(DEFAULT_MNIST_DIR, synthetic_count=20, progress=False, size=28)
    assert faces.images.shape == (20, 1, 28, 28) and "synthetic digits" in faces.source
    note = capsys.readouterr().out.strip().splitlines()
    assert len(note) == 1 and "facegan download mnist" in note[0]


# ----------------------------------------------------------------------------- the MNIST download
class Mirror:
    """Serves a dict of file name -> bytes on 127.0.0.1 and records the names asked for."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.asked = files, []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                mirror.asked.append(name)
                if name not in mirror.files:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(mirror.files[name])))
                self.end_headers()
                self.wfile.write(mirror.files[name])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/mnist/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mnist_files(tmp_path, monkeypatch):
    """MNIST's four .gz files (holding built-in digits) and their MD5s in place of the published ones."""
    write_mnist(tmp_path / "src")
    files = {name: (tmp_path / "src" / name).read_bytes() for name in download.MNIST_MD5}
    monkeypatch.setattr(download, "MNIST_MD5", {n: hashlib.md5(b).hexdigest() for n, b in files.items()})
    return files


@pytest.fixture
def serve():
    mirrors = []

    def start(files):
        mirrors.append(Mirror(files))
        return mirrors[-1]
    yield start
    for m in mirrors:
        m.close()


def test_mnist_download_verifies_each_file_and_then_trains(tmp_path, mnist_files, serve, capsys):
    mirror = serve(mnist_files)
    root = download.download_mnist(tmp_path / "mnist", url=mirror.url, progress=False)
    assert sorted(p.name for p in root.iterdir()) == sorted(mnist_files)  # no .part left behind
    assert "4 downloaded" in capsys.readouterr().out
    assert len(data.load_faces(str(root), progress=False, size=28)) == 40
    download.download_mnist(root, url=mirror.url, progress=False)  # intact files are kept: no new requests
    assert len(mirror.asked) == 4 and "0 downloaded, 4 already there" in capsys.readouterr().out


def test_a_checksum_mismatch_is_refused_and_the_file_deleted(tmp_path, mnist_files, serve):
    tampered = {**mnist_files, "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(np.zeros(20)))}
    mirror = serve(tampered)
    with pytest.raises(FaceganError, match="t10k-labels-idx1-ubyte.gz has MD5 [0-9a-f]{32}, not the published "
                                           "[0-9a-f]{32}: deleted it") as error:
        download.download_mnist(tmp_path / "mnist", url=mirror.url, progress=False)
    assert "\n" not in str(error.value)
    left = {p.name for p in (tmp_path / "mnist").iterdir()}
    assert "t10k-labels-idx1-ubyte.gz" not in left and not any(n.endswith(".part") for n in left)


def test_the_next_mirror_is_tried_when_one_serves_a_bad_file_or_none(tmp_path, mnist_files, serve, monkeypatch):
    bad = serve({name: b"<html>moved</html>" for name in mnist_files})
    empty = serve({})
    good = serve(mnist_files)
    monkeypatch.setattr(download, "MNIST_MIRRORS", (bad.url, empty.url, good.url))
    assert main(["download", "mnist", "--root", str(tmp_path / "m")]) == 0
    assert all(download.md5sum(tmp_path / "m" / n) == md5 for n, md5 in download.MNIST_MD5.items())
    assert len(bad.asked) == len(empty.asked) == len(good.asked) == 4


# ----------------------------------------------------------------------------- the built-in digits
def test_builtin_digits_are_deterministic_per_index_with_labels_in_turn():
    images, labels = render_digits(20, seed=0)
    assert images.shape == (20, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [i % 10 for i in range(20)]
    assert torch.equal(render_digits(10, seed=0)[0], images[:10])  # digit i does not depend on N
    later, later_labels = render_digits(5, seed=0, start=15)
    assert torch.equal(later, images[15:]) and later_labels.tolist() == [5, 6, 7, 8, 9]
    assert not torch.equal(render_digits(10, seed=1)[0], images[:10])
    flat = images.float().flatten(1)
    assert torch.cdist(flat, flat).fill_diagonal_(1e9).min() > 100  # no two alike


def test_builtin_digits_are_framed_like_mnist():
    """White ink on black, about MNIST's amount of ink (mean pixel 33 of 255), fitted in the central
    20x20 box (a 4 px margin, give or take the shift) and centred by mass."""
    images = render_digits(200, seed=3)[0][:, 0].float()  # (200, 28, 28)
    assert 15 < images.mean() < 60
    border = torch.cat([images[:, :2].flatten(1), images[:, -2:].flatten(1), images[:, :, :2].flatten(1),
                        images[:, :, -2:].flatten(1)], 1)
    assert border.mean() < 1.5
    grid = torch.arange(28.0)
    mass = images.sum((1, 2))
    cy, cx = (images.sum(2) * grid).sum(1) / mass, (images.sum(1) * grid).sum(1) / mass
    assert (cy - 13.5).abs().max() < 2.5 and (cx - 13.5).abs().max() < 2.5  # MNIST: the centre of mass
    assert images.amax((1, 2)).min() > 150  # every digit has real ink


def test_builtin_digit_labels_name_the_digit_drawn():
    """A nearest-mean classifier fitted on 1,000 built-in digits names the digit of 500 others far
    above chance (10%): the labels and the images agree."""
    images, labels = render_digits(1000, seed=0)
    x = images.flatten(1).float()
    means = torch.stack([x[labels == k].mean(0) for k in range(10)])
    test, test_labels = render_digits(500, seed=0, start=1000)
    predicted = torch.cdist(test.flatten(1).float(), means).argmin(1)
    assert (predicted == test_labels).float().mean() > 0.6
    assert (predicted == (test_labels + 1) % 10).float().mean() < 0.2  # shifted labels would not fit


def test_builtin_digits_are_cached_and_a_held_out_range_is_disjoint(private_cache, monkeypatch):
    first = data.load_synthetic_digits(30, progress=False)
    assert len(list(private_cache.glob("digits-*-n30-*"))) == 1  # written once rendered

    def render_digits_again(*args, **kwargs):
        raise AssertionError("rendered again instead of reading the cache")

    monkeypatch.setattr(synthetic_digits, "render_digits", render_digits_again)
    again = data.load_synthetic_digits(30, progress=False)  # the renderer is deterministic: it must not run
    monkeypatch.setattr(synthetic_digits, "render_digits", render_digits)
    assert torch.equal(first.images, again.images) and torch.equal(first.attributes["digit"], again.attributes["digit"])
    held = data.load_synthetic_digits(10, progress=False, start=30)
    assert torch.equal(held.images, render_digits(10, start=30)[0]) and held.key != first.key


# ----------------------------------------------------------------------------- the mlp architecture
def test_mlp_shapes_ranges_and_logits():
    G = Generator(latent_dim=16, hidden=(32, 64)).eval()
    for z in (torch.randn(5, 16), torch.randn(5, 16, 1, 1)):
        out = G(z)
        assert out.shape == (5, 1, 28, 28) and out.min() >= -1 and out.max() <= 1
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        G(torch.randn(5, 15))
    D = Discriminator(hidden=(64, 32))
    assert D(out).shape == (5, 1)
    D.net[-1].bias.data.fill_(5.0)  # logits, not probabilities: a sigmoid output could never exceed 1
    assert D.eval()(out).min() > 1
    colour = Generator(8, (16,), channels=3, resolution=16)
    assert colour(torch.randn(2, 8)).shape == (2, 3, 16, 16)
    assert [m.out_features for m in colour.net if isinstance(m, torch.nn.Linear)] == [16, 3 * 16 * 16]


def test_d_dropout_masks_come_from_the_runs_stream():
    D = Discriminator(hidden=(64, 32), dropout=0.5)
    x = torch.randn(4, 1, 28, 28)
    D.rng = torch.Generator().manual_seed(1)
    a = D(x)
    D.rng = torch.Generator().manual_seed(1)
    torch.manual_seed(123)  # the global RNG must not matter
    assert torch.equal(D(x), a)
    assert not torch.equal(D(x), a)  # the stream moved on: fresh masks
    assert torch.equal(D.eval()(x), D(x))  # no dropout in eval mode


def test_the_digits_preset_is_the_known_mlp_recipe_and_builds_through_the_registry():
    cfg = build_config("digits")
    assert (cfg.arch, cfg.resolution, cfg.channels, cfg.flip, cfg.minutes) == ("mlp", 28, 1, False, 5.0)
    assert (cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.beta2, cfg.loss, cfg.batch_size) == (8e-4, 8e-4, 0.5, 0.999, "bce", 256)
    assert cfg.model.mlp_hidden == "128,256,512" and cfg.model.mlp_dropout == 0.1 and 64 <= cfg.latent_dim <= 100
    G, D = build_models(cfg, 1, 28)
    assert [m.out_features for m in G.net if isinstance(m, torch.nn.Linear)] == [128, 256, 512, 784]
    assert [m.out_features for m in D.net if isinstance(m, torch.nn.Linear)] == [512, 256, 128, 1]
    rebuilt = generator_from_meta(json.loads(json.dumps(G.arch())))  # as an export stores it
    rebuilt.load_state_dict(G.state_dict())
    z = torch.randn(3, cfg.latent_dim)
    assert torch.equal(rebuilt.eval()(z), G.eval()(z))


@pytest.mark.parametrize("values, message", [
    ({"mlp_hidden": "256,,x"}, "mlp_hidden must be comma-separated positive layer widths"),
    ({"mlp_hidden": "0"}, "mlp_hidden must be"),
    ({"mlp_dropout": 1.0}, "mlp_dropout is a probability"),
    ({"channels": 2}, "channels must be one of 0, 1, 3"),
])
def test_bad_digit_settings_are_named(values, message):
    with pytest.raises(FaceganError, match=message):
        build_config("digits", values)


# ----------------------------------------------------------------------------- training, export, sampling
def tiny_digits(tmp_path, **overrides):
    values = dict(data=SYNTHETIC_DIGITS, synthetic_count=64, latent_dim=8, mlp_hidden="32,64", batch_size=16,
                  epochs=1, minutes=0.0, log_every=2, grid_size=16, device="cpu", precision="fp32",
                  runs_dir=str(tmp_path / "runs"))
    return build_config("digits", {**values, **overrides})


def test_training_steps_export_and_one_channel_samples(tmp_path, capsys):
    cfg = tiny_digits(tmp_path, epochs=2, ema_kimg=0.1)
    torch.manual_seed(cfg.seed)
    untrained = state_tensors(build_models(cfg, 1, 28)[0])
    run = train(cfg, progress=False)
    assert "data: 64 built-in synthetic digits (1x28x28)" in capsys.readouterr().out
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 8 and all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in records)
    trained = ckpt.latest_state(run)["generator"]
    assert all(not torch.equal(untrained[k], trained[k]) for k in untrained)
    grid = Image.open(run / "samples" / "epoch_002.png")
    assert grid.mode == "L" and grid.width == 4 * 30 + 2  # 16 digits of 28 px, 2 px apart ...
    assert grid.height > 4 * 30 + 2 + 20  # ... over a caption naming the data
    G = load_generator(run)
    assert G.arch() == {"arch": "mlp", "latent_dim": 8, "hidden": [32, 64], "channels": 1, "resolution": 28,
                        "batchnorm": cfg.model.mlp_batchnorm}
    assert main(["sample", "--generator", str(run), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    grid = Image.open(tmp_path / "s.png")
    assert grid.size == (2 * 30 + 2, 2 * 30 + 2) and grid.mode == "L"
    assert main(["sample", "--generator", str(run), "--n", "3", "--separate", str(tmp_path / "each")]) == 0
    assert Image.open(tmp_path / "each" / "face_0002.png").size == (28, 28)
    assert main(["interpolate", "--generator", str(run), "--steps", "5", "--out", str(tmp_path / "i.png")]) == 0
    assert Image.open(tmp_path / "i.png").size == (5 * 30 + 2, 32)
    capsys.readouterr()
    assert main(["eval", "--generator", str(run)]) == 2  # the face metrics say they do not apply, in one line
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "1-channel 28x28" in err and "facegan digits score" in err


def test_an_mlp_run_resumes_bit_for_bit(tmp_path):
    """D's dropout draws from the run's checkpointed stream: 2 epochs straight = 1 + resume + 1."""
    straight = train(tiny_digits(tmp_path, name="straight", epochs=2), progress=False)
    half = train(tiny_digits(tmp_path, name="half", epochs=1), progress=False)
    train(resume_config(half, epochs=2), resume=half, progress=False)
    a, b = ckpt.latest_state(straight), ckpt.latest_state(half)
    for part in ("generator", "discriminator"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part


def test_image_folders_train_in_grayscale_with_channels_1(tmp_path):
    for i in range(20):
        write_image(tmp_path / "pics" / f"{i}.png", seed=i, size=(40, 40))
    faces = data.load_faces(str(tmp_path / "pics"), progress=False, size=16, channels=1)
    rgb = data.load_faces(str(tmp_path / "pics"), progress=False, size=16)
    luma = (rgb.images.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert faces.images.shape == (20, 1, 16, 16) and (faces.images.float() - luma).abs().max() <= 0.5
    assert faces.key != rgb.key and "grayscale" in faces.source
    run = train(tiny_digits(tmp_path, data=str(tmp_path / "pics"), resolution=16, channels=1, epochs=1), progress=False)
    assert load_generator(run).arch()["resolution"] == 16
    assert data.convert_channels(faces.images, 3).shape == (20, 3, 16, 16)  # and back to RGB by repetition


# ----------------------------------------------------------------------------- the classifier and its report
def test_the_report_on_known_cases():
    eye = torch.eye(10)
    collapsed = fd.recognisability(eye[[3] * 50])  # a GAN that draws only 3s, confidently
    assert collapsed["recognised"] == 1.0 and collapsed["classes_present"] == 1 and collapsed["max_class_share"] == 1.0
    assert collapsed["entropy_bits"] == 0.0
    even = fd.recognisability(eye[torch.arange(100) % 10])
    assert even["classes_present"] == 10 and even["max_class_share"] == pytest.approx(0.1)
    assert even["entropy_bits"] == pytest.approx(math.log2(10))
    unsure = fd.recognisability(torch.cat([eye[:4] * 0.85, eye[[5]]]))  # four below the threshold
    assert unsure["recognised"] == pytest.approx(0.2) and unsure["class_shares"][5] == 1.0
    nothing = fd.recognisability(torch.full((4, 10), 0.05))  # "no digit" took the rest
    assert nothing["recognised"] == 0.0 and nothing["classes_present"] == 0 and nothing["max_class_share"] == 0.0
    assert "recognised (p >= 0.9)" in fd.format_report(even)
    samples = torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1).expand(5, 1, 2, 2)
    grid = fd.judged_grid(samples, torch.cat([eye[:4] * 0.85, eye[[5]]]), per_row=3)  # 11 rows of 3
    assert grid.shape == (33, 1, 2, 2) and grid[15].eq(grid.new_tensor(4 / 127.5 - 1)).all()  # row 5: sample 4
    assert grid[30:33].flatten().tolist() == (torch.arange(3).repeat_interleave(4) / 127.5 - 1).tolist()  # unsure


def test_the_classifier_learns_a_tiny_set_and_calls_noise_no_digit():
    train_set = fd.LabelledDigits(*render_digits(600, seed=0), "600 digits")
    test_images, test_labels = render_digits(300, seed=0, start=600)
    model = fd.train_classifier(train_set, epochs=20, batch_size=64, width=8, say=lambda _: None)
    probs = fd.probabilities(model, test_images)
    assert probs.shape == (300, 10) and (probs.sum(1) <= 1 + 1e-5).all()
    assert fd.accuracy(probs, test_labels) > 0.9
    noise = torch.randint(0, 256, (200, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert fd.recognisability(fd.probabilities(model, noise))["recognised"] < 0.05
    untrained = data.to_uint8(Generator(16, (32, 64)).eval()(torch.randn(200, 16)).detach())
    assert fd.recognisability(fd.probabilities(model, untrained))["recognised"] < 0.05
    bigger = fd.probabilities(model, data.resize_square(test_images, 32).expand(-1, 3, -1, -1))  # 3 x 32 px in
    assert fd.accuracy(bigger, test_labels) > 0.8


def test_classifier_file_round_trip_and_hostile_files(tmp_path):
    from facegan.models.classifiers.digits import DigitClassifier

    model = DigitClassifier(1, width=4).eval()
    path = fd.save_classifier(model, tmp_path / "c.safetensors", {"test_accuracy": 0.5})
    loaded, info = fd.load_classifier(path)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert info == {"test_accuracy": 0.5} and torch.allclose(loaded(x), model.half().float()(x), atol=1e-3)
    (tmp_path / "evil.safetensors").write_bytes(b"\x80\x04cos\nsystem\n")
    with pytest.raises(FaceganError, match="not a readable safetensors file"):
        fd.load_classifier(tmp_path / "evil.safetensors")
    export = export_generator(Generator(8, (16,)), tmp_path / "generator.safetensors")
    with pytest.raises(FaceganError, match="not a facegan digit classifier"):
        fd.load_classifier(export)
    with pytest.raises(FaceganError, match="does not exist; train one with: facegan digits classifier"):
        fd.load_classifier(tmp_path / "missing.safetensors")


def test_classifier_score_and_show_from_the_cli(tmp_path, capsys):
    write_mnist(tmp_path / "mnist", n_train=64, n_test=20)
    out = tmp_path / "digits.safetensors"
    assert main(["digits", "classifier", "--data", str(tmp_path / "mnist"), "--epochs", "1", "--width", "4",
                 "--out", str(out)]) == 0
    assert "testing on 20 MNIST test digits" in capsys.readouterr().out
    _, info = fd.load_classifier(out)
    assert 0 <= info["test_accuracy"] <= 1 and "MNIST train" in info["data"]
    run = train(tiny_digits(tmp_path), progress=False)
    capsys.readouterr()
    assert main(["digits", "score", "--generator", str(run), "--classifier", str(out), "--n", "30",
                 "--grid", str(tmp_path / "judged.png")]) == 0
    text = capsys.readouterr().out
    assert "recognised (p >= 0.9)" in text and "classifier accuracy on held-out digits" in text
    assert Image.open(tmp_path / "judged.png").size == (2 * (10 * 30 + 2), 2 * (11 * 30 + 2))  # 11 rows, scale 2
    logged = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["digits"]
    assert logged["samples"] == 30 and len(logged["class_shares"]) == 10
    assert main(["digits", "show", "--data", str(tmp_path / "mnist"), "--n", "12", "--nrow", "6", "--scale", "1",
                 "--out", str(tmp_path / "show.png")]) == 0
    shown = Image.open(tmp_path / "show.png")
    assert shown.mode == "L" and shown.size == (6 * 30 + 2, 2 * 30 + 2)


@pytest.mark.parametrize("args, message", [
    (["classifier", "--data", "."], "holds no MNIST files; digit labels come from"),
    (["classifier", "--data", "mnist-not-here"], "mnist-not-here does not exist; digit labels come from"),
    (["classifier", "--epochs", "0"], "--epochs must be a positive integer"),
    (["score", "--generator", "nowhere", "--classifier", "c"], "generator file nowhere not found"),
    (["show", "--n", "0"], "--n must be a positive integer"),
])
def test_digit_command_mistakes_get_one_line(args, message, capsys):
    assert main(["digits", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_threshold_outside_0_1_is_refused_before_anything_loads(capsys):
    assert main(["digits", "score", "--generator", "nowhere", "--classifier", "c", "--threshold", "1.5"]) == 2
    assert "--threshold is a probability between 0 and 1 (got 1.5)" in capsys.readouterr().err
