"""Distillation inputs of the attribute classifier: unlabelled faces (less any copy of a held-out person),
teachers' soft labels for them (classifier files or scores tables), and hint tables (a pretrained face
network's features per face, which the classifier learns to predict while it trains).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from facegan.data.images import decode_images, list_images, warn_unreadable
from facegan.data.labels import LabelledFaces, _read_lines, read_identities
from facegan.errors import FaceganError


def load_unlabelled(folder: str, faces: LabelledFaces, held_index: torch.Tensor, identities_csv: str | None = None,
                    size: int = 64, say=print) -> tuple[torch.Tensor, list[str]]:
    """(uint8 (U, 3, size, size), their U file names): a folder's faces less any copy of a held-out
    labelled file (same name) and, with ``identities_csv`` (columns member and celeba_identity or
    identity, matched by file name), every image of a held-out person."""
    root = Path(folder)
    if not root.is_dir():
        raise FaceganError(f"unlabelled folder {root} does not exist")
    files = list_images(root)
    held_people: set[int] = set()
    people: dict[str, int] = {}
    if identities_csv:
        people = read_identities(identities_csv)
        held_people = {i for i in faces.identities[held_index].tolist() if i >= 0}
    else:
        say(f"note: no identities for {root} (--unlabelled-ids): other photos of held-out people may be among them")
    held_files = {faces.files[i] for i in held_index.tolist()} if faces.files else set()
    kept = [p for p in files if p.name not in held_files and people.get(p.name, -1) not in held_people]
    if not kept:
        raise FaceganError(f"no images to use in {root} (found {len(files):,}, all of held-out people or none at all)")
    images, unreadable = decode_images(kept, size)
    warn_unreadable([kept[i].name for i in unreadable], f" in {root}")
    say(f"unlabelled: {len(images):,} faces from {root} ({len(files) - len(kept):,} held out)")
    skipped = set(unreadable)
    return images, [p.name for i, p in enumerate(kept) if i not in skipped]


def read_teacher_scores(path: str | Path, names: tuple[str, ...]) -> tuple[list[str], dict[str, list[float]]]:
    """A scores CSV (key column, then attribute columns among ``names``, probabilities in [0, 1]) as
    (its attribute columns, {file name of the key: probabilities})."""
    path = Path(path)
    reader = csv.reader(_read_lines(path, "teacher", "a scores CSV"))
    header = next(reader, None) or []
    columns = header[1:]
    unknown = [c for c in columns if c not in names]
    if not columns or unknown or len(set(columns)) != len(columns):
        raise FaceganError(f"{path}:1: a teacher's scores CSV has a key column, then attribute columns among the "
                           f"labels' ({'unknown: ' + ', '.join(unknown[:3]) if unknown else 'got ' + ','.join(header[:3])})")
    return columns, _keyed_rows(reader, path, len(columns), lambda v: 0 <= v <= 1, "probabilities in [0, 1]")


def read_feature_table(path: str | Path) -> dict[str, list[float]]:
    """{file name: feature vector} from a CSV with a key column, then D >= 1 numeric columns (any names),
    e.g. a pretrained face network's embedding per face (recipes/dlib_hints.py writes one)."""
    path = Path(path)
    reader = csv.reader(_read_lines(path, "hint table", "a CSV: member, then one column per feature"))
    header = next(reader, None) or []
    if len(header) < 2:
        raise FaceganError(f"{path}:1: a hint table has a key column, then one column per feature "
                           f"(got {','.join(header[:3]) or 'nothing'})")
    return _keyed_rows(reader, path, len(header) - 1, math.isfinite, "finite numbers")


def _keyed_rows(reader, path: Path, width: int, valid, what: str) -> dict[str, list[float]]:
    """The rows after a CSV's header as {file name of the key: its ``width`` numbers}, each ``valid``."""
    table = {}
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            values = [float(v) for v in row[1:]]
        except ValueError:
            values = []
        if len(values) != width or not all(valid(v) for v in values):
            raise FaceganError(f"{path}:{number}: expected a key and {width} {what}, got {row[:4]}")
        table[Path(row[0]).name] = values
    return table


def hint_targets(path: str | Path, files: list[str]) -> torch.Tensor:
    """(len(files), D) rows of the hint table ``path`` for the training images named ``files``, in order."""
    table = read_feature_table(path)
    missing = [f for f in files if f not in table]
    if missing:
        raise FaceganError(f"hint table {path} has no row for {len(missing):,} of the {len(files):,} training faces "
                           f"(first: {missing[0]}); give every labelled and unlabelled face one")
    return torch.tensor([table[f] for f in files], dtype=torch.float32)
