"""Face images as one uint8 tensor: image folders, the CelebA subset, or the built-in synthetic faces.

Images are decoded once into a (N, C, R, R) uint8 cache file keyed by the file list, sizes, mtimes
and the size R (a changed folder rebuilds it); training indexes that tensor per batch and never
decodes a JPEG again. Channels and resolution are properties of the data (RGB faces at 64 px by
default); the models are built to match. :class:`FaceDataset` is the per-item view graders and
DataLoaders expect.
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

from . import synthetic
from .config import DEFAULT_CELEBA_DIR, SYNTHETIC, default
from .errors import FaceganError
from .fileio import atomic_path, cache_root

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
        raise FaceganError(f"data folder {folder} does not exist; pass a folder of images with --data, "
                           f"or --data synthetic, or run: facegan download celeba-small")
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
        _write_cache(cache_file, tensors, {"source": "facegan.synthetic"})
    attrs = {k.removeprefix("attr."): v for k, v in tensors.items() if k.startswith("attr.")}
    return FaceData(tensors["images"], f"{count:,} built-in synthetic faces", attrs, listed=count,
                    key=cache_file.stem)


def load_faces(data: str = DEFAULT_CELEBA_DIR, synthetic_count: int | None = None, cache_dir: str = "",
               progress: bool = True, size: int | None = None) -> FaceData:
    """Resolve a ``data`` setting: 'synthetic', or a folder, at ``size`` px (default: TrainConfig's).
    The default CelebA folder falls back to synthetic faces with a note when it is missing; any other
    missing folder is an error."""
    synthetic_count = synthetic_count or default("synthetic_count")
    size = size or default("resolution")
    if data == SYNTHETIC:
        return load_synthetic(synthetic_count, cache_dir, progress, size)
    if Path(data) == Path(DEFAULT_CELEBA_DIR) and not Path(data).is_dir():
        print(f"note: {DEFAULT_CELEBA_DIR} not found, so using {synthetic_count:,} built-in synthetic faces; "
              "get the CelebA subset with: facegan download celeba-small")
        return load_synthetic(synthetic_count, cache_dir, progress, size)
    faces = load_folder(data, cache_dir, progress, size)
    if Path(data) == Path(DEFAULT_CELEBA_DIR):
        faces.listed = CELEBA_SMALL_SIZE  # the subset is complete only with all 32,600 faces
    return faces


def load_dataset(data: str = DEFAULT_CELEBA_DIR, **kwargs) -> FaceDataset:
    """The graders' view: ``load_dataset()`` -> Dataset of float32 (3, 64, 64) in [-1, 1]."""
    faces = load_faces(data, **kwargs)
    return FaceDataset(faces.images, faces.listed)
