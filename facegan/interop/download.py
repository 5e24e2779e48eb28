"""``facegan download celeba-small | mnist | inception | stylegan2-*``: the only code in facegan that touches
the network.

Downloads to ``<name>.part`` with HTTP Range resume (a broken transfer continues where it stopped,
within this call's retries or on the next call). The CelebA zip is checked and unpacked into
``processed_celeba_small/celeba/`` through a temporary folder (all or nothing). MNIST: the four gzipped
IDX files into ``mnist/``, each checked against its published MD5 (a file that does not match is
deleted, never used), from the mirror torchvision uses, then Google's. A pre-trained StyleGAN2 or StyleGAN3 pickle
(:mod:`facegan.interop.pretrained`) is checked against its recorded size/checksum when one is recorded, then
imported (:mod:`facegan.interop.importers`, nothing in it is run) into a generator export.
"""
from __future__ import annotations

import hashlib
import shutil
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from facegan.data.images import IMAGE_EXTENSIONS, list_images
from facegan.errors import FaceganError
from facegan.fileio import cache_root
from facegan.interop.pretrained import PRETRAINED

CELEBA_SMALL_URL = ("https://s3.amazonaws.com/video.udacity-data.com/topher/2018/November/"
                    "5be7eb6f_processed-celeba-small/processed-celeba-small.zip")
DATASETS = {"celeba-small": CELEBA_SMALL_URL}
CHUNK = 1 << 20
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's first mirror
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")  # TensorFlow's
MNIST_MD5 = {  # the published checksums of the gzipped files (as in torchvision.datasets.MNIST.resources)
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def fetch(url: str, dest: Path, retries: int = 3, timeout: float = 30.0, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming from ``dest.part`` across broken connections."""
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if have and response.status != 206:  # server ignored Range: start over
                    have = 0
                length = response.headers.get("Content-Length")
                total = have + int(length) if length else None
                with open(part, "ab" if have else "wb") as out, tqdm(
                        total=total, initial=have, unit="B", unit_scale=True, desc=dest.name,
                        disable=not progress) as bar:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
                if total is not None and part.stat().st_size < total:
                    raise ConnectionError(f"connection closed at {part.stat().st_size:,} of {total:,} bytes")
            part.replace(dest)
            return dest
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # asked for bytes past the end: the .part is already complete
                part.replace(dest)
                return dest
            raise FaceganError(f"download of {url} failed: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            if attempt == retries:
                got = part.stat().st_size if part.exists() else 0
                kept = f"{got / 1e6:.1f} MB kept in {part}: run the same command again to resume" if got else \
                    "nothing was received: check the network (or --url) and run the same command again"
                raise FaceganError(f"download of {url} failed ({reason}); {kept}") from None
            time.sleep(min(2 ** attempt, 10) * 0.5)
    raise AssertionError("unreachable")


def unpack_images(zip_path: Path, out_dir: Path) -> int:
    """Extract the zip's images (flattened, no __MACOSX) into out_dir atomically; returns the count."""
    if not zipfile.is_zipfile(zip_path):
        zip_path.unlink()
        raise FaceganError("the downloaded file is not a valid zip (deleted it); check the URL and try again")
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    count = 0
    try:
        with zipfile.ZipFile(zip_path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise FaceganError(f"the downloaded zip is corrupt (first bad member: {bad}); delete "
                                   f"{zip_path} and download again")
            for info in archive.infolist():
                name = Path(info.filename)
                if info.is_dir() or "__MACOSX" in name.parts or name.name.startswith("."):
                    continue
                if name.suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                # Basename only: flattens folders and makes "../" paths in the zip harmless.
                with archive.open(info) as src, open(staging / name.name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                count += 1
        if count == 0:
            raise FaceganError(f"the downloaded zip holds no images ({zip_path})")
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.replace(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_verified(name: str, md5: str, mirrors: tuple[str, ...], dest: Path, progress: bool = True) -> Path:
    """``name`` from the first mirror that serves it with checksum ``md5``; a file that does not match is
    deleted before the next mirror is tried, and the last failure is the error."""
    error = FaceganError(f"no mirror to download {name} from")
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            fetch(url, dest, progress=progress)
        except FaceganError as e:
            error = e
            continue
        got = md5sum(dest)
        if got == md5:
            return dest
        dest.unlink()
        error = FaceganError(f"{url} has MD5 {got}, not the published {md5}: deleted it; run the command again, "
                             "or pass another mirror with --url")
    raise error


def download_mnist(root: str | Path = "mnist", url: str | None = None, force: bool = False,
                   progress: bool = True) -> Path:
    """MNIST's four gzipped IDX files into ``root``, each verified by its MD5; ``url``: a mirror folder
    holding them (default: torchvision's mirror, then Google's). Files already there and intact are kept."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    fetched = 0
    for name, md5 in MNIST_MD5.items():
        dest = root / name
        if dest.is_file() and not force and md5sum(dest) == md5:
            continue
        fetch_verified(name, md5, (url,) if url else MNIST_MIRRORS, dest, progress)
        fetched += 1
    print(f"{root}: MNIST's 4 files, checksums verified ({fetched} downloaded, {4 - fetched} already there); "
          f"train on them with: facegan train --preset digits --data {root}")
    return root


def download_inception(url: str | None = None, progress: bool = True) -> Path:
    """Fetch the Inception-v3 FID weights (torch-fidelity's) into facegan's cache, for eval's fid metric."""
    from facegan.evaluation.metrics import INCEPTION_URL, inception_weights_path

    path = inception_weights_path()
    if path.is_file():
        print(f"{path} already present; nothing to do")
        return path
    fetch(url or INCEPTION_URL, path, progress=progress)
    print(f"saved the Inception weights to {path}")
    return path


def download_dataset(name: str = "celeba-small", root: str | Path = "processed_celeba_small",
                     url: str | None = None, force: bool = False, keep_zip: bool = False,
                     progress: bool = True) -> Path:
    """Fetch and unpack a dataset into root/celeba; returns that folder."""
    if name not in DATASETS:
        raise FaceganError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    root = Path(root)
    out_dir = root / "celeba"
    if out_dir.is_dir() and not force:
        existing = len(list_images(out_dir))
        if existing:
            print(f"{out_dir} already holds {existing:,} images; nothing to do (--force to download again)")
            return out_dir
    url = url or DATASETS[name]
    zip_path = fetch(url, root / Path(url.split("?")[0]).name, progress=progress)
    count = unpack_images(zip_path, out_dir)
    if not keep_zip:
        zip_path.unlink()
    print(f"unpacked {count:,} images into {out_dir}")
    return out_dir


def verify_download(path: Path, size: int | None, sha256: str | None) -> None:
    """Refuse (and delete) a download whose size or SHA-256 differs from the recorded one."""
    got = path.stat().st_size
    if size is not None and got != size:
        path.unlink()
        raise FaceganError(f"the download of {path.name} has {got:,} bytes, not the recorded {size:,} (deleted it); "
                           "run the same command again")
    if sha256 is not None:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            path.unlink()
            raise FaceganError(f"the download of {path.name} has SHA-256 {digest.hexdigest()}, not the recorded "
                               f"{sha256} (deleted it); run the same command again")


def download_pretrained(name: str, out: str | Path | None = None, url: str | None = None, half: bool = True,
                        keep_pkl: bool = False, progress: bool = True) -> Path:
    """Fetch NVIDIA's pickle ``name`` into facegan's cache (resumable) and import its G_ema to ``out``
    (default ``<name>.safetensors``); the pickle is deleted afterwards unless ``keep_pkl``."""
    from facegan.interop.importers import import_generator

    if name not in PRETRAINED:
        raise FaceganError(f"unknown pre-trained generator {name!r}; available: {', '.join(PRETRAINED)}")
    entry = PRETRAINED[name]
    url = url or entry.url
    pkl = cache_root() / "pretrained" / Path(url.split("?")[0]).name
    if not pkl.is_file():
        fetch(url, pkl, progress=progress)
    verify_download(pkl, entry.size if url == entry.url else None, entry.sha256 if url == entry.url else None)
    out = Path(out) if out else Path(f"{name}.safetensors")
    out, summary = import_generator(entry.kind, pkl, out, half=half, source={"name": name, "url": url})
    print(summary)
    if keep_pkl:
        print(f"kept the pickle: {pkl}")
    else:
        pkl.unlink()
    return out
