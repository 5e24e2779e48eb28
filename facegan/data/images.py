"""Images as one uint8 tensor: image folders, the CelebA subset, MNIST's IDX files, or the built-in
synthetic faces and digits.

Images are decoded once into a (N, C, R, R) uint8 cache file keyed by the file list, sizes, mtimes
and the size R (a changed folder rebuilds it); training indexes that tensor per batch and never
decodes a JPEG again. Channels and resolution are properties of the data (RGB faces at 64 px by
default, grayscale digits at 28 px); the models are built to match, and ``channels`` converts RGB to
grayscale or back. Digits carry their labels as the attribute "digit". :class:`FaceDataset` is the
per-item view graders and DataLoaders expect.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from facegan.data import (DEFAULT_CELEBA_DIR, DEFAULT_MNIST_DIR, DEFAULT_RESOLUTION, SYNTHETIC, SYNTHETIC_COUNT,
                           SYNTHETIC_DIGITS, mnist, synthetic_digits)
from facegan.data import synthetic_faces as synthetic
from facegan.errors import FaceganError
from facegan.fileio import atomic_path, cache_root

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
CACHE_VERSION = "1"  # bump when decoding changes, so old caches are rebuilt
SYNTHETIC_SEED = 0  # the embedded data set is fixed; the training seed does not change it
CELEBA_SMALL_SIZE = 32_600  # images in the complete Udacity processed_celeba_small/celeba


@dataclass
class FaceData:
    images: torch.Tensor  # (N, C, R, R) uint8
    source: str  # human description, e.g. "32,600 images from processed_celeba_small/celeba"
    attributes: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (N,) labels
    listed: int | None = None  # images the source declares (files found / faces asked for)
    key: str | None = None  # identifies the decoded contents (the cache key)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def resolution(self) -> int:
        return self.images.shape[-1]


class FaceDataset(torch.utils.data.Dataset):
    """``ds[i]`` -> float32 (C, R, R) in [-1, 1] (C=3, R=64 for faces); ``len(ds)`` -> number of images.

    ``expected_length`` is how many images the source declares (tests.check_dataset_outputs compares
    it with ``len``: unreadable files make them differ).
    """

    def __init__(self, images: torch.Tensor, expected_length: int | None = None):
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[2] != images.shape[3]:
            raise ValueError(f"expected uint8 (N, C, R, R) images, got {images.dtype} {tuple(images.shape)}")
        self.images = images
        self.expected_length = len(images) if expected_length is None else expected_length

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_unit_range(self.images[index])


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (any shape)."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255] (any shape)."""
    return images.detach().float().add(1).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted); other files are ignored."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def decode_image(path: Path, size: int = 64) -> np.ndarray:
    """Any image -> (size, size, 3) uint8 RGB: alpha composited on white, centre-cropped square, resized."""
    with Image.open(path) as img:
        img.load()
        if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, (255, 255, 255))
            img.paste(rgba, mask=rgba.getchannel("A"))
        img = img.convert("RGB")
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
        if side != size:
            img = img.resize((size, size), Image.BICUBIC, reducing_gap=2.0)
        return np.asarray(img, dtype=np.uint8)


def decode_images(paths: list[Path], size: int = 64, progress: bool = False,
                  desc: str = "decoding") -> tuple[torch.Tensor, list[int]]:
    """The readable files among ``paths`` as uint8 (n, 3, size, size), in order, and the indices of
    the unreadable ones (skipped: a broken file is the caller's warning, not a crash)."""
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    unreadable: list[int] = []
    n = 0
    for i, path in enumerate(tqdm(paths, desc=desc, unit="img", disable=not progress, mininterval=1.0)):
        try:
            images[n] = decode_image(path, size)
            n += 1
        except Exception:  # PIL raises many types for broken files
            unreadable.append(i)
    return torch.from_numpy(images[:n]).permute(0, 3, 1, 2).contiguous(), unreadable  # (n, R, R, 3) -> (n, 3, R, R)


def warn_unreadable(names: list[str], where: str = "") -> None:
    """One warning line naming (the first five of) the files that were skipped."""
    if names:
        print(f"warning: skipped {len(names)} unreadable image(s){where}: {', '.join(names[:5])}"
              + (" ..." if len(names) > 5 else ""))


def _folder_key(folder: Path, files: list[Path], size: int) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}:{size}".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def _read_cache(path: Path) -> dict[str, torch.Tensor] | None:
    if not path.exists():
        return None
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, RuntimeError):
        print(f"note: image cache {path} is unreadable; rebuilding it")
        return None
    return tensors if "images" in tensors else None


def _write_cache(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_folder(folder: str | os.PathLike, cache_dir: str = "", progress: bool = True, size: int = 64) -> FaceData:
    """Every readable image under ``folder`` as uint8 (N, 3, size, size), decoded once and cached."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FaceganError(f"data folder {folder} does not exist; pass a folder of images (or of MNIST's IDX "
                           "files) with --data, or --data synthetic / synthetic-digits, or run: facegan download "
                           "celeba-small")
    files = list_images(folder)
    if not files:
        raise FaceganError(f"data folder {folder} holds no images ({'/'.join(IMAGE_EXTENSIONS)}, "
                           f"searched recursively); put images there or use --data synthetic")
    key = _folder_key(folder, files, size)
    cache_file = cache_root(cache_dir) / f"folder-{key}.safetensors"
    cached = _read_cache(cache_file)
    if cached is not None:
        return FaceData(cached["images"], f"{len(cached['images']):,} images from {folder} (cached)",
                        listed=len(files), key=key)

    tensor, unreadable = decode_images(files, size, progress, f"decoding {folder}")
    bad = [str(files[i].relative_to(folder)) for i in unreadable]
    warn_unreadable(bad, f" in {folder}")
    n = len(tensor)
    if n == 0:
        raise FaceganError(f"none of the {len(files)} image files in {folder} could be read "
                           f"(e.g. {bad[0]}); check the files or use --data synthetic")
    _write_cache(cache_file, {"images": tensor}, {"source": str(folder.resolve()), "skipped": str(len(bad))})
    return FaceData(tensor, f"{n:,} images from {folder}", listed=len(files), key=key)


def load_synthetic(count: int, cache_dir: str = "", progress: bool = True, size: int = 64) -> FaceData:
    """The built-in procedural faces (rendered once, then cached) with their attributes."""
    res = "" if size == 64 else f"-r{size}"  # 64 px caches keep their earlier names
    cache_file = cache_root(cache_dir) / f"synthetic-v{CACHE_VERSION}-n{count}-seed{SYNTHETIC_SEED}{res}.safetensors"
    tensors = _read_cache(cache_file)
    if tensors is None:
        images, attrs = synthetic.render_faces(count, SYNTHETIC_SEED, progress=progress, size=size)
        tensors = {"images": images, **{f"attr.{k}": v for k, v in attrs.items()}}
        _write_cache(cache_file, tensors, {"source": "facegan.data.synthetic_faces"})
    attrs = {k.removeprefix("attr."): v for k, v in tensors.items() if k.startswith("attr.")}
    return FaceData(tensors["images"], f"{count:,} built-in synthetic faces", attrs, listed=count,
                    key=cache_file.stem)


def load_synthetic_digits(count: int, cache_dir: str = "", progress: bool = True, size: int = 28,
                          start: int = 0) -> FaceData:
    """The built-in procedural digits ``start`` .. ``start + count - 1`` (rendered once, then cached) with
    their labels (attribute "digit"). Digits past a training set's count make a disjoint held-out set."""
    offset = f"-from{start}" if start else ""
    name = f"digits-v{synthetic_digits.RENDER_VERSION}-n{count}{offset}-seed{SYNTHETIC_SEED}-r{size}"
    cache_file = cache_root(cache_dir) / f"{name}.safetensors"
    tensors = _read_cache(cache_file)
    if tensors is None or "labels" not in tensors:
        images, labels = synthetic_digits.render_digits(count, SYNTHETIC_SEED, progress=progress, size=size,
                                                        start=start)
        tensors = {"images": images, "labels": labels}
        _write_cache(cache_file, tensors, {"source": "facegan.data.synthetic_digits"})
    return FaceData(tensors["images"], f"{count:,} built-in synthetic digits", {"digit": tensors["labels"]},
                    listed=count, key=cache_file.stem)


def load_mnist(folder: str | os.PathLike, size: int = 28, split: str = "train") -> FaceData:
    """MNIST's ``split`` from a folder of its IDX files as uint8 (N, 1, size, size) with labels (no cache:
    parsing the files takes well under a second)."""
    digits = mnist.load_split(Path(folder), split)
    images = resize_square(torch.from_numpy(digits.images.copy())[:, None], size)  # (N, 28, 28) -> (N, 1, R, R)
    return FaceData(images, digits.source, {"digit": torch.from_numpy(digits.labels.astype(np.int64))},
                    listed=len(images), key=f"mnist-{split}-r{size}-{len(images)}")


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, C, R, R) -> (N, C, size, size), anti-aliased (unchanged when R == size)."""
    if images.shape[-1] == size:
        return images
    out = torch.nn.functional.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True,
                                          align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 (N, C, R, R) -> (N, channels, R, R): RGB to grayscale by ITU-R 601 luma (as PIL's "L"
    mode), grayscale to RGB by repeating; unchanged when C == channels or channels is 0.

    >>> convert_channels(torch.tensor([[[[255]], [[0]], [[0]]]], dtype=torch.uint8), 1).flatten().tolist()
    [76]
    """
    if channels in (0, images.shape[1]):
        return images
    if channels == 1 and images.shape[1] == 3:
        luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * luma).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    if channels == 3 and images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    raise FaceganError(f"cannot convert {images.shape[1]}-channel images to {channels} channels")


def load_faces(data: str = DEFAULT_CELEBA_DIR, synthetic_count: int | None = None, cache_dir: str = "",
               progress: bool = True, size: int | None = None, channels: int = 0) -> FaceData:
    """Resolve a ``data`` setting: 'synthetic', 'synthetic-digits', a folder of MNIST's IDX files, or
    a folder of images, at ``size`` px (default: TrainConfig's) and ``channels`` (0: the data's own).
    The default CelebA and MNIST folders fall back to the built-in faces and digits with a note when
    they are missing; any other missing folder is an error."""
    synthetic_count = synthetic_count or SYNTHETIC_COUNT
    size = size or DEFAULT_RESOLUTION
    fallbacks = {DEFAULT_CELEBA_DIR: (SYNTHETIC, "faces", "the CelebA subset", "celeba-small"),
                 DEFAULT_MNIST_DIR: (SYNTHETIC_DIGITS, "digits", "MNIST", "mnist")}
    for folder, (builtin, what, real, download) in fallbacks.items():
        if Path(data) == Path(folder) and not Path(data).is_dir():
            print(f"note: {folder} not found, so using {synthetic_count:,} built-in synthetic {what}; "
                  f"get {real} with: facegan download {download}")
            data = builtin
    if data == SYNTHETIC:
        faces = load_synthetic(synthetic_count, cache_dir, progress, size)
    elif data == SYNTHETIC_DIGITS:
        faces = load_synthetic_digits(synthetic_count, cache_dir, progress, size)
    elif mnist.is_mnist_folder(data):
        faces = load_mnist(data, size)
    else:
        faces = load_folder(data, cache_dir, progress, size)
        if Path(data) == Path(DEFAULT_CELEBA_DIR):
            faces.listed = CELEBA_SMALL_SIZE  # the subset is complete only with all 32,600 faces
    if channels and channels != faces.channels:
        faces.images = convert_channels(faces.images, channels)
        faces.source += f" ({'grayscale' if channels == 1 else 'RGB'})"
        faces.key = faces.key and f"{faces.key}-c{channels}"
    return faces


def load_dataset(data: str = DEFAULT_CELEBA_DIR, **kwargs) -> FaceDataset:
    """The graders' view: ``load_dataset()`` -> Dataset of float32 (3, 64, 64) in [-1, 1]."""
    faces = load_faces(data, **kwargs)
    return FaceDataset(faces.images, faces.listed)
