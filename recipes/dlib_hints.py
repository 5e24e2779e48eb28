"""The shipped attribute classifier's hint table (a step of recipes/attributes.sh): dlib's 128-d
face-identity embedding of every labelled and unlabelled face, as the CSV `facegan attributes train
--hint` reads (member, then dlib0..dlib127). models/attributes.md says why the student learns to
predict it; bench/research/attributes_hint.py is the experiment that chose it.

    pip install -r bench/requirements-edit.txt     # dlib and its face models (optional bench dependencies)
    python recipes/dlib_hints.py --data /tmp/facegan-attrs/labelled --attrs faces64_attrs.csv \\
        --unlabelled /tmp/facegan-attrs/unlabelled/faces64 --work /tmp/facegan-attrs --out /tmp/facegan-attrs/dlib_hints.csv

dlib takes ~90 ms a face on one core: the 16,358 faces take ~25 minutes the first time; the embeddings
are cached by file name in --work (dlib_labelled.npz, dlib_unlabelled.npz), which the research
experiments share. facegan itself never needs dlib: it reads the table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import checkout  # noqa: F401  (first: this checkout's facegan, bench/ on sys.path; recipes/checkout.py)
import numpy as np
import torch
from face_identity import IdentityEmbedding  # bench/face_identity.py

from facegan.data.images import decode_images, list_images
from facegan.data.labels import load_labelled
from facegan.editing.attribute_commands import write_scores


def embeddings(names, images: torch.Tensor, cache: Path) -> dict[str, np.ndarray]:
    """{file name: (128,) dlib embedding} for uint8 (N, 3, 64, 64) faces, cached by file name in ``cache``
    (an .npz: delete it when the images change). dlib takes ~90 ms a face on one core, so the 16,358
    faces take ~25 minutes the first time."""
    table = {}
    if cache.is_file():
        stored = np.load(cache)
        table = dict(zip(stored["files"].tolist(), stored["emb"]))
    todo = [i for i, name in enumerate(names) if name not in table]
    if todo:
        embed = IdentityEmbedding("landmarks")
        pixels = images.permute(0, 2, 3, 1).numpy()  # (N, 64, 64, 3) uint8, as dlib wants
        for start in range(0, len(todo), 500):
            chunk = todo[start:start + 500]
            table.update(zip((names[i] for i in chunk), embed(pixels[chunk])))
            print(f"dlib embedding: {start + len(chunk):,}/{len(todo):,}", flush=True)
        np.savez(cache, files=np.array(list(table)), emb=np.stack(list(table.values())))
    return {name: table[name] for name in names}


def unlabelled_faces(folder: Path) -> tuple[torch.Tensor, list[str]]:
    """(uint8 (U, 3, 64, 64), their file names) of every readable image in ``folder``."""
    paths = list_images(folder)
    images, unreadable = decode_images(paths, 64)
    skipped = set(unreadable)
    return images, [p.name for i, p in enumerate(paths) if i not in skipped]


def hints(data: Path, attrs: Path, unlabelled: Path, work: Path, out: Path) -> None:
    """dlib's embedding of every labelled and unlabelled face as a hint table for `facegan attributes train
    --hint` (the held-out faces' rows are in it but never read there: their faces are not trained on)."""
    faces = load_labelled(str(data), str(attrs))
    table = embeddings(faces.files, faces.images, work / "dlib_labelled.npz")
    images, files = unlabelled_faces(unlabelled)
    table |= embeddings(files, images, work / "dlib_unlabelled.npz")
    vectors = torch.tensor(np.stack(list(table.values())), dtype=torch.float32)  # (N, 128)
    write_scores(out, list(table), vectors, tuple(f"dlib{i}" for i in range(vectors.shape[1])), key_name="member")
    print(f"wrote {out}: {len(table):,} faces x {vectors.shape[1]} features")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the labelled faces' root (as for facegan attributes train)")
    parser.add_argument("--attrs", type=Path, required=True, help="their labels CSV")
    parser.add_argument("--unlabelled", type=Path, required=True, help="the unlabelled faces' folder")
    parser.add_argument("--work", type=Path, default=Path("/tmp/facegan-attrs"), help="embedding caches go here")
    parser.add_argument("--out", type=Path, required=True, help="the hint table (CSV) to write")
    args = parser.parse_args()
    hints(args.data, args.attrs, args.unlabelled, args.work, args.out)


if __name__ == "__main__":
    main()
