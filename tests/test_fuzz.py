"""Every loader that takes a user's file, fuzzed: a few hundred seeded mutations of a valid file each
(flipped bytes, truncation, inserted bytes, huge length fields, an inserted pickle call of os.system).
Each mutation either loads or raises facegan's one-line error: never another exception, never a hang
(an alarm stops a call after 20 s), never the injected payload run (it would create a marker file)."""
import contextlib
import random
import signal
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegan.errors import FaceganError

FIXTURES = Path(__file__).parent / "fixtures"
MUTATIONS = 200


def mutations(data: bytes, seed: int, marker: Path, n: int = MUTATIONS):
    """n seeded variants of ``data``, cycling through five kinds of damage."""
    rng = random.Random(seed)
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR"  # pickle: os.system("touch marker")
    for i in range(n):
        b = bytearray(data)
        kind = i % 5
        if kind == 0:  # flip 1-8 bytes
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] ^= rng.randint(1, 255)
        elif kind == 1:  # truncate
            del b[rng.randrange(len(b)):]
        elif kind == 2:  # insert random bytes
            at = rng.randrange(len(b) + 1)
            b[at:at] = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 16)))
        elif kind == 3:  # a huge length or count field
            at = rng.randrange(max(len(b) - 8, 1))
            b[at:at + 8] = rng.choice([struct.pack("<q", 2 ** 40), struct.pack(">q", 2 ** 40),
                                       b"\xff\xff\xff\x7f\xff\xff\xff\x7f", struct.pack("<Q", 2 ** 63 - 1)])
        else:  # an injected pickle call
            at = rng.randrange(len(b) + 1)
            b[at:at] = payload
        yield bytes(b)


@contextlib.contextmanager
def deadline(seconds: int, what: str):
    def timeout(signum, frame):
        raise TimeoutError(f"{what} took more than {seconds} s (a hang)")
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(load, valid: bytes, path: Path, seed: int, write=None, refusals: bool = True, n: int = MUTATIONS) -> list:
    """Load every mutation of ``valid`` written to ``path`` (or by ``write(variant, k)``, which returns what
    to load), failing on anything but a load or a one-line refusal; returns what each load returned (None
    for a refusal). ``refusals``: some mutations must be refused (else the fuzzer did not reach the parser)."""
    marker = path.parent / "payload.ran"
    counts, results = {"loaded": 0, "refused": 0}, []
    for k, variant in enumerate(mutations(valid, seed, marker, n)):
        target = write(variant, k) if write else (path.write_bytes(variant), path)[1]
        try:
            with deadline(20, f"mutation {k}"):
                results.append(load(target))
            counts["loaded"] += 1
        except FaceganError as e:
            assert "\n" not in str(e) and str(e), f"mutation {k}: a refusal of more than one line: {e!r}"
            counts["refused"] += 1
            results.append(None)
        except Exception as e:  # noqa: BLE001 -- the point: nothing but the one-line error may escape
            pytest.fail(f"mutation {k} of {path.name} raised {type(e).__name__}: {str(e)[:300]}")
        assert not marker.exists(), f"mutation {k} of {path.name} ran the injected payload"
    assert counts["refused"] > 0 or not refusals, "no mutation was refused: the fuzzer did not reach the loader"
    return results


# ----------------------------------------------------------------------------- the loaders
def test_fuzz_nvidia_pickles(tmp_path):
    from facegan.interop.nvidia_stylegan2 import official_generator
    from facegan.interop.nvidia_stylegan3 import official_stylegan3_generator
    fuzz(official_stylegan3_generator, (FIXTURES / "stylegan3" / "stylegan3-r16-p4.pkl").read_bytes(),
         tmp_path / "sg3.pkl", seed=1)
    fuzz(official_generator, (FIXTURES / "stylegan3" / "stylegan2-from-stylegan3-repo-p3.pkl").read_bytes(),
         tmp_path / "sg2.pkl", seed=2)


def test_fuzz_pretrained_feature_weights(tmp_path):
    """The projected D's EfficientNet-Lite0 state dict (18.8 MB: 40 mutations, not 200)."""
    from facegan.models.projected.efficientnet_lite import pretrained_lite0, weights_file
    fuzz(pretrained_lite0, weights_file().read_bytes(), tmp_path / "lite0.pth", seed=11, n=40)


def test_fuzz_rosinality_checkpoints(tmp_path):
    from test_import_stylegan2 import fixture_generator, save_rosinality

    from facegan.interop.rosinality import rosinality_generator
    valid = save_rosinality(tmp_path / "valid.pt", fixture_generator(resolution=8, channel_max=8)).read_bytes()
    fuzz(rosinality_generator, valid, tmp_path / "ros.pt", seed=3)


def test_fuzz_generator_exports(tmp_path):
    from facegan.interop.export import export_generator, load_generator
    from facegan.models.dcgan import Generator
    export_generator(Generator(latent_dim=8, width=0.0625, resolution=16), tmp_path / "valid.safetensors", half=True)
    fuzz(load_generator, (tmp_path / "valid.safetensors").read_bytes(), tmp_path / "g.safetensors", seed=4)


def test_fuzz_training_checkpoints(tmp_path):
    from facegan.training import state as ckpt
    valid = sorted((FIXTURES / "v1_run" / "checkpoints").glob("state-*.pt"))[-1].read_bytes()
    fuzz(lambda p: ckpt.load_state(p), valid, tmp_path / "state-00000002.pt", seed=5)


def png_bytes(seed: int, side: int = 24, fmt: str = "PNG") -> bytes:
    import io
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_fuzz_photos_for_projection(tmp_path, fmt):
    from facegan.editing.projection import load_photo
    fuzz(lambda p: load_photo(p, 16), png_bytes(6, 80, fmt), tmp_path / f"me.{fmt.lower()}", seed=6)


def test_fuzz_image_folders(tmp_path):
    """One of a folder's four images is damaged in each round (a fresh cache each time): the folder loads,
    with the damaged image skipped (and named in a note) when it cannot be decoded."""
    from facegan.data.images import load_folder
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(3):
        (folder / f"ok{i}.png").write_bytes(png_bytes(i))

    def write(variant: bytes, k: int) -> tuple[Path, Path]:
        (folder / "damaged.png").write_bytes(variant)
        return folder, tmp_path / f"cache{k}"

    sizes = fuzz(lambda target: len(load_folder(target[0], cache_dir=str(target[1]), progress=False, size=16)),
                 png_bytes(9), folder / "damaged.png", seed=7, write=write, refusals=False)
    assert set(sizes) == {3, 4}  # damaged beyond decoding: skipped; else decoded (PNG has slack)


def test_fuzz_idx_files(tmp_path):
    from facegan.data.mnist import read_idx
    images = np.random.default_rng(0).integers(0, 255, (5, 28, 28), dtype=np.uint8)
    valid = struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">3I", 5, 28, 28) + images.tobytes()
    fuzz(lambda p: read_idx(p, ndim=3), valid, tmp_path / "train-images-idx3-ubyte", seed=8)


def test_fuzz_attribute_files(tmp_path):
    from facegan.data.labels import read_attr_csv, read_celeba_attr_file
    names = ["Smiling", "Male", "Young"]
    csv = "image_id," + ",".join(names) + "\n" + "".join(f"{i:06d}.jpg,1,-1,1\n" for i in range(20))
    fuzz(read_attr_csv, csv.encode(), tmp_path / "attrs.csv", seed=9)
    celeba = f"20\n{' '.join(names)}\n" + "".join(f"{i:06d}.jpg  1 -1  1\n" for i in range(20))
    fuzz(read_celeba_attr_file, celeba.encode(), tmp_path / "list_attr_celeba.txt", seed=10)


def test_the_fuzzer_reaches_the_loaders(tmp_path):
    """A control: the same mutations do break plain, unguarded readers (so "refused in one line" above is
    the loaders' doing), and the injected pickle call does run under plain pickle."""
    import pickle
    marker = tmp_path / "payload.ran"
    raw = [v for v in mutations(pickle.dumps({"a": [1, 2, 3]}, protocol=2), 11, marker, n=25)]
    crashes = 0
    for variant in raw:
        try:
            pickle.loads(variant)
        except Exception:  # noqa: BLE001
            crashes += 1
    assert crashes > 5 and marker.exists()
