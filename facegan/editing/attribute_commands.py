"""The work of ``facegan attributes train`` and ``facegan attributes score``: labelled faces -> a trained
classifier file with its held-out report; a folder's or a generator's faces -> a CSV of probabilities.
"""
from __future__ import annotations

import csv
from pathlib import Path

import torch

from facegan.data.images import IMAGE_EXTENSIONS, decode_images, list_images, warn_unreadable
from facegan.data.labels import load_labelled
from facegan.editing.attribute_classifier import load_classifier, predict, save_classifier
from facegan.editing.attribute_training import (format_report, report, split_by_identity, split_digest,
                                                teacher_probabilities, train_classifier)
from facegan.editing.distill import hint_targets, load_unlabelled
from facegan.errors import FaceganError
from facegan.fileio import atomic_path


def train_and_report(data: str, attrs: str | None, out: str | Path, epochs: int = 20, holdout: float = 0.15,
                     seed: int = 0, width: int = 32, say=print, split_seed: int | None = None,
                     unlabelled: str | None = None, unlabelled_ids: str | None = None,
                     teachers: list[str] = (), hint: str | None = None, hint_weight: float = 1.0) -> dict[str, dict]:
    """`facegan attributes train`: load, split by identity (``split_seed``, default ``seed``), train
    (distilling ``teachers`` on the ``unlabelled`` faces too, when given), report on the held-out part and
    save the classifier with the report and the split's digest in its metadata. ``hint``: a feature table
    (read_feature_table) for every training face, regressed from the classifier's features with
    ``hint_weight`` (train_classifier's hint). Returns the report."""
    faces = load_labelled(data, attrs)
    split_seed = seed if split_seed is None else split_seed
    train_index, held_index = split_by_identity(faces, holdout, split_seed)
    digest = split_digest(faces, held_index)
    say(f"{faces.source}: training on {len(train_index):,}, holding out {len(held_index):,} (by identity)")
    soft, fit_index, files = None, train_index, []
    if unlabelled:
        images, files = load_unlabelled(unlabelled, faces, held_index, unlabelled_ids, faces.images.shape[-1], say)
        soft = (images, teacher_probabilities(list(teachers), faces.names, digest, images, files, say))
    hinted = None
    if hint:
        if not faces.files:
            raise FaceganError(f"--hint matches faces by file name: use a folder of images, not {faces.source}")
        hinted = (hint_targets(hint, [faces.files[i] for i in fit_index.tolist()] + files), hint_weight)
    model = train_classifier(faces, fit_index, epochs=epochs, width=width, seed=seed, say=say, soft=soft, hint=hinted)
    scores = report(predict(model, faces.images[held_index]), faces.labels[held_index], faces.names)
    info = {"data": faces.source, "train_images": len(fit_index), "held_out_images": len(held_index),
            "epochs": epochs, "seed": seed, "holdout": holdout, "split_seed": split_seed, "split_digest": digest,
            "held_out": scores}
    if soft is not None:
        info |= {"unlabelled_images": len(soft[0]), "teachers": [Path(t).name for t in teachers]}
    if hinted is not None:
        info["hint"] = {"table": Path(hint).name, "weight": hint_weight, "features": hinted[0].shape[1]}
    save_classifier(model, out, faces.names, info)
    say(format_report(scores))
    say(f"saved {out}")
    return scores


def score_source(classifier: str | Path, data: str, out: str | Path, n: int = 64, seed: int = 0,
                 device: str | torch.device = "cpu") -> Path:
    """`facegan attributes score`: probabilities for a folder's images (one row per file) or for a
    generator's faces (one row per seed, seed .. seed + n - 1)."""
    model, names, _ = load_classifier(classifier, device)
    source = Path(data)
    if source.is_dir() and not (source / "generator.safetensors").is_file():
        files = list_images(source)
        if not files:
            raise FaceganError(f"{source} holds no images ({'/'.join(IMAGE_EXTENSIONS)})")
        images, unreadable = decode_images(files, 64)
        warn_unreadable([files[i].relative_to(source).as_posix() for i in unreadable], f" in {source}")
        if not len(images):
            raise FaceganError(f"none of the {len(files)} image files in {source} could be read")
        skipped = set(unreadable)
        keys = [p.relative_to(source).as_posix() for i, p in enumerate(files) if i not in skipped]
        return write_scores(out, keys, predict(model, images), names)
    from facegan.interop.export import load_generator
    from facegan.latent import generate, latents_for_seeds

    G = load_generator(source, device)
    faces = generate(G, latents_for_seeds(range(seed, seed + n), G.latent_dim))
    return write_scores(out, [str(s) for s in range(seed, seed + n)], predict(model, faces), names, key_name="seed")


def write_scores(path: str | Path, keys: list[str], probabilities: torch.Tensor, names: tuple[str, ...],
                 key_name: str = "image") -> Path:
    """CSV: one row per image (``key_name`` column, then one probability column per attribute)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([key_name, *names])
            for key, row in zip(keys, probabilities.tolist()):
                writer.writerow([key, *(f"{v:.4f}" for v in row)])
    return Path(path)
