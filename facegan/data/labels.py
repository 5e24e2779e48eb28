"""Label files: CelebA's attribute file and label CSVs (with identities) -> a labelled face set.

A labelled set is the face images with one 0/1 value per attribute (NaN = unknown) and each face's
person (CelebA identity), so held-out splits can keep people apart. The built-in synthetic faces are
labelled with the attributes their renderer decides.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from facegan.data.celeba import CELEBA_ATTRIBUTES
from facegan.data.images import IMAGE_EXTENSIONS, decode_images, list_images, load_synthetic, warn_unreadable
from facegan.data.synthetic_faces import HAIR_NAMES
from facegan.errors import FaceganError

IDENTITY_COLUMNS = ("celeba_identity", "identity")  # CSV columns that are not attributes


@dataclass
class LabelledFaces:
    images: torch.Tensor  # (N, C, R, R) uint8
    labels: torch.Tensor  # (N, A) float32 in {0, 1}, NaN = unknown
    names: tuple[str, ...]  # A attribute names
    identities: torch.Tensor  # (N,) int64, -1 = unknown (each image its own person)
    source: str
    files: tuple[str, ...] = ()  # N file names (folders only): unlabelled copies of held-out ones are left out

    def __len__(self) -> int:
        return len(self.images)


def _to_binary(value: str, where: str) -> float:
    if value in ("1", "+1"):
        return 1.0
    if value in ("-1", "0"):
        return 0.0
    raise FaceganError(f"{where}: attribute values must be -1/1 (or 0/1), got {value!r}")


def read_celeba_attr_file(path: str | Path) -> tuple[tuple[str, ...], dict[str, list[float]]]:
    """CelebA's list_attr_celeba.txt: a count line, a line of attribute names, then ``file v1 ... vA``
    per image with values in {-1, 1}. Returns (names, {file name: A values in {0, 1}})."""
    path = Path(path)
    lines = _read_lines(path)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise FaceganError(f"{path}:1: not a CelebA attribute file (its first line must be the image count)")
    names = tuple(lines[1].split())
    if not names:
        raise FaceganError(f"{path}:2: the second line must list the attribute names")
    rows = {}
    for number, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise FaceganError(f"{path}:{number}: expected a file name and {len(names)} values, got {len(parts)} "
                               f"fields")
        rows[parts[0]] = [_to_binary(v, f"{path}:{number}") for v in parts[1:]]
    if len(rows) != int(lines[0]):
        raise FaceganError(f"{path}: its first line announces {int(lines[0])} images but {len(rows)} are listed")
    return names, rows


def read_attr_csv(path: str | Path) -> tuple[tuple[str, ...], dict[str, list[float]], dict[str, int]]:
    """A CSV ``member,[celeba_identity,]<attribute names...>`` (values -1/1 or 0/1).
    Returns (names, {member: values}, {member: identity})."""
    path = Path(path)
    lines = _read_lines(path)
    reader = csv.reader(lines)
    header = next(reader, None)
    if not header or header[0] != "member":
        raise FaceganError(f"{path}:1: a label CSV starts with the column 'member' (got {header[:1] if header else 'nothing'})")
    attr_columns = [i for i, name in enumerate(header) if i > 0 and name not in IDENTITY_COLUMNS]
    id_column = next((i for i, name in enumerate(header) if name in IDENTITY_COLUMNS), None)
    if not attr_columns:
        raise FaceganError(f"{path}:1: no attribute columns after 'member'")
    rows, identities = {}, {}
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise FaceganError(f"{path}:{number}: expected {len(header)} fields, got {len(row)}")
        rows[row[0]] = [_to_binary(row[i].strip(), f"{path}:{number}") for i in attr_columns]
        if id_column is not None:
            try:
                identities[row[0]] = int(row[id_column])
            except ValueError:
                raise FaceganError(f"{path}:{number}: identity must be an integer, got {row[id_column]!r}") from None
    return tuple(header[i] for i in attr_columns), rows, identities


def _read_lines(path: Path, what: str = "label file", expected: str = "CelebA's list_attr_celeba.txt or a CSV") -> list[str]:
    if not path.is_file():
        raise FaceganError(f"{what} {path} does not exist")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise FaceganError(f"{what} {path} is not text (expected {expected})") from None


def load_labelled(data: str, attrs: str | None = None, size: int = 64, synthetic_count: int = 10_000) -> LabelledFaces:
    """``data`` 'synthetic' (labels known, no file needed) or a folder of images with ``attrs``, CelebA's
    attribute file or a CSV, matched to the images by relative path or file name."""
    if data == "synthetic":
        return _synthetic_labelled(synthetic_count, size)
    if not attrs:
        raise FaceganError("a folder of faces needs its labels: --attrs list_attr_celeba.txt or a CSV "
                           "(member,<attribute names>); or use --data synthetic")
    folder = Path(data)
    if not folder.is_dir():
        raise FaceganError(f"data folder {folder} does not exist")
    if Path(attrs).suffix.lower() == ".csv":
        names, rows, identities = read_attr_csv(attrs)
    else:
        (names, rows), identities = read_celeba_attr_file(attrs), {}
    by_name: dict[str, Path] = {}
    for p in list_images(folder):
        by_name.setdefault(p.relative_to(folder).as_posix(), p)
        by_name.setdefault(p.name, p)
    matched = [(key, by_name.get(key) or by_name.get(Path(key).name)) for key in rows]
    matched = [(key, p) for key, p in matched if p is not None]
    if not matched:
        raise FaceganError(f"none of the {len(rows):,} labelled files in {attrs} is an image in {folder} "
                           f"(matched by relative path or file name, {'/'.join(IMAGE_EXTENSIONS)})")
    images, unreadable = decode_images([p for _, p in matched], size)
    warn_unreadable([matched[i][0] for i in unreadable], f" in {folder}")
    if not len(images):
        raise FaceganError(f"none of the {len(matched):,} labelled images in {folder} could be read")
    skipped = set(unreadable)
    keys = [key for i, (key, _) in enumerate(matched) if i not in skipped]
    missing = len(rows) - len(matched)
    source = f"{len(images):,} labelled faces from {folder}" + (f" ({missing:,} labels had no image)" if missing else "")
    return LabelledFaces(images, torch.tensor([rows[k] for k in keys], dtype=torch.float32), names,
                         torch.tensor([identities.get(k, -1) for k in keys], dtype=torch.int64), source,
                         tuple(Path(k).name for k in keys))


def _synthetic_labelled(count: int, size: int) -> LabelledFaces:
    """The built-in faces with the CelebA attributes their renderer decides; the others are unknown (NaN)."""
    faces = load_synthetic(count, size=size, progress=False)
    a = {k: v.float() for k, v in faces.attributes.items()}
    hair = faces.attributes["hair_colour"]
    known = {"Male": a["male"], "Smiling": a["smiling"], "Eyeglasses": a["eyeglasses"], "No_Beard": 1 - a["beard"],
             "Gray_Hair": a["grey_hair"], "Black_Hair": (hair == HAIR_NAMES.index("black")).float(),
             "Brown_Hair": (hair == HAIR_NAMES.index("brown")).float(),
             "Blond_Hair": (hair == HAIR_NAMES.index("blond")).float()}
    if "bald" in a:
        known["Bald"] = a["bald"]
    labels = torch.full((len(faces), len(CELEBA_ATTRIBUTES)), math.nan)
    for name, values in known.items():
        labels[:, CELEBA_ATTRIBUTES.index(name)] = values
    return LabelledFaces(faces.images, labels, CELEBA_ATTRIBUTES, torch.full((len(faces),), -1), faces.source)


def read_identities(path: str | Path) -> dict[str, int]:
    """{file name: identity} from a CSV with a 'member' column and an identity column (any others ignored)."""
    path = Path(path)
    reader = csv.reader(_read_lines(path))
    header = next(reader, None) or []
    id_column = next((i for i, name in enumerate(header) if name in IDENTITY_COLUMNS), None)
    if not header or header[0] != "member" or id_column is None:
        raise FaceganError(f"{path}:1: an identity CSV has the columns member and {' or '.join(IDENTITY_COLUMNS)} "
                           f"(got {','.join(header[:4]) or 'nothing'})")
    people = {}
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            people[Path(row[0]).name] = int(row[id_column])
        except (IndexError, ValueError):
            raise FaceganError(f"{path}:{number}: expected a member and an integer identity, got {row[:id_column + 1]}") from None
    return people
