"""MNIST's IDX files: parse them (gzipped or not) and find them in a folder.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values. MNIST uses type 0x08 (unsigned bytes): images are
(N, 28, 28) (magic 0x00000803) and labels (N,) (magic 0x00000801). Anything else, or a file shorter
than its header promises, is a one-line error naming the file.

    >>> import struct
    >>> raw = struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 2, 1])
    >>> parse_idx(raw, "labels").tolist()
    [7, 2, 1]
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError

UBYTE = 0x08
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
# The four files, by split; each may be gzipped (.gz) and some mirrors write ".idx3-ubyte" for "-idx3-ubyte".
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SUBFOLDERS = ("", "raw", "MNIST/raw")  # torchvision keeps them in ROOT/MNIST/raw


def parse_idx(data: bytes, what: str = "IDX file", ndim: int | None = None) -> np.ndarray:
    """The uint8 array an IDX byte string holds; ``ndim`` (3 for images, 1 for labels) is checked."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise FaceganError(f"{what} is not an IDX file (its magic number {data[:4].hex() or 'is missing'}; "
                           "MNIST's start with 00000803 for images or 00000801 for labels)")
    if data[2] != UBYTE:
        raise FaceganError(f"{what} holds IDX type 0x{data[2]:02x}; facegan reads unsigned bytes (0x08) as MNIST uses")
    dims = data[3]
    if ndim is not None and dims != ndim:
        kind = "images (magic 00000803)" if ndim == 3 else "labels (magic 00000801)"
        raise FaceganError(f"{what} has {dims} dimensions (magic {data[:4].hex()}), expected {kind}: "
                           "are the image and label files swapped?")
    header = 4 + 4 * dims
    if len(data) < header:
        raise FaceganError(f"{what} is truncated: {len(data)} bytes, shorter than its {header}-byte header")
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(dims))
    size = int(np.prod(shape, dtype=np.int64))
    if len(data) != header + size:
        problem = "is truncated" if len(data) < header + size else "has trailing bytes"
        raise FaceganError(f"{what} {problem}: its header announces {'x'.join(map(str, shape))} = {size:,} values, "
                           f"the file holds {len(data) - header:,}; download it again (facegan download mnist)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(path: Path, ndim: int | None = None) -> np.ndarray:
    """Parse an IDX file, gunzipping it first when it is gzipped (by its magic bytes, not its name)."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise FaceganError(f"{path} is a broken gzip file ({e}); download it again "
                               "(facegan download mnist)") from None
    return parse_idx(data, str(path), ndim)


def find_file(folder: Path, stem: str) -> Path | None:
    """``stem`` (e.g. train-images-idx3-ubyte) in the folder or its raw/ or MNIST/raw/ subfolder: raw or .gz,
    with '-' or '.' before 'idx'."""
    names = [stem, stem.replace("-idx", ".idx")]
    for sub in SUBFOLDERS:
        for name in names:
            for suffix in ("", ".gz"):
                path = folder / sub / (name + suffix)
                if path.is_file():
                    return path
    return None


def is_mnist_folder(folder: str | Path) -> bool:
    """A folder that holds MNIST's training images (so ``--data`` means MNIST, not a folder of pictures)."""
    folder = Path(folder)
    return folder.is_dir() and find_file(folder, FILES["train"][0]) is not None


@dataclass
class Digits:
    images: np.ndarray  # (N, 28, 28) uint8, white ink on black
    labels: np.ndarray  # (N,) uint8 in 0..9
    source: str


def load_split(folder: str | Path, split: str = "train") -> Digits:
    """MNIST's ``train`` (60,000) or ``test`` (10,000) split from a folder of its IDX files."""
    folder = Path(folder)
    images_stem, labels_stem = FILES[split]
    images_path, labels_path = find_file(folder, images_stem), find_file(folder, labels_stem)
    missing = [stem for stem, path in ((images_stem, images_path), (labels_stem, labels_path)) if path is None]
    if missing:
        raise FaceganError(f"{folder} lacks MNIST's {' and '.join(missing)} (raw or .gz); "
                           "get the four files with: facegan download mnist")
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if len(images) != len(labels):
        raise FaceganError(f"{images_path.name} holds {len(images):,} images but {labels_path.name} "
                           f"{len(labels):,} labels; they must come from the same split")
    if labels.size and labels.max() > 9:
        raise FaceganError(f"{labels_path} holds label {labels.max()}; MNIST's labels are 0-9")
    return Digits(images, labels, f"{len(images):,} MNIST {split} digits from {folder}")
