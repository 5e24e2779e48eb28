"""Identity folds and out-of-fold calibration for the attribute-classifier experiments (not shipped).

Copies of what facegan.editing.attributes had for ``facegan attributes train --fold K/N --calibrate``:
the experiment (bench/research/attributes_crossfit.py) decided against calibrated fold teachers
(models/attributes.md), so these leave the package for the research folder, where the experiments
that use them live. The same computations as the package's versions at the time of the copy (the fold
numbers, hence every figure of bench/results/attributes_crossfit*.json, do not change; only names and one
error message differ); ``people`` is the package's private ``_people``, copied too so that nothing here
reaches into facegan's internals.
"""
from __future__ import annotations

from pathlib import Path

import torch

from facegan.data.labels import LabelledFaces
from facegan.editing.attribute_classifier import predict
from facegan.editing.attribute_training import load_teacher
from facegan.errors import FaceganError


def people(identities: torch.Tensor) -> torch.Tensor:
    """(N,) person ids, each image of unknown identity (-1) made a person of its own."""
    ids = identities.clone()
    unknown = ids < 0
    ids[unknown] = -1 - torch.arange(int(unknown.sum()))
    return ids


def identity_folds(faces: LabelledFaces, train_index: torch.Tensor, folds: int, split_seed: int) -> torch.Tensor:
    """(T,) fold number in [0, folds) for each training image; every image of a person in one fold.
    Seeded by the split's seed + 1 (another draw than the split's), so a split's folds are fixed."""
    persons, inverse = people(faces.identities[train_index]).unique(return_inverse=True)
    fold_of_person = torch.randperm(len(persons), generator=torch.Generator().manual_seed(split_seed + 1)) % folds
    return fold_of_person[inverse]


def fit_calibration(probabilities: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Class-balanced Platt scaling per attribute: (A, 2) rows (a, b) such that sigmoid(a * logit(p) + b)
    is a probability on which both classes weigh alike, so p = 0.5 is the balanced threshold on faces like
    these (N, A) ones. Fitted by scikit-learn's logistic regression over the known labels; (1, 0), no
    change, for an attribute with one class known."""
    from sklearn.linear_model import LogisticRegression

    out = torch.tensor([[1.0, 0.0]]).repeat(labels.shape[1], 1)
    for a in range(labels.shape[1]):
        known = ~labels[:, a].isnan()
        y = labels[known, a]
        if y.numel() and y.min() != y.max():
            logit = torch.logit(probabilities[known, a], eps=1e-6)[:, None].double().numpy()
            fit = LogisticRegression(class_weight="balanced", C=100.0).fit(logit, y.numpy())
            out[a] = torch.tensor([fit.coef_[0, 0], fit.intercept_[0]])
    return out


def calibrate(probabilities: torch.Tensor, calibration: torch.Tensor) -> torch.Tensor:
    """(N, A) probabilities through fit_calibration's (A, 2) scales and offsets."""
    return torch.sigmoid(calibration[:, 0] * torch.logit(probabilities, eps=1e-6) + calibration[:, 1])


def calibrate_fold_teachers(teachers: list[str], faces: LabelledFaces, train_index: torch.Tensor, split_seed: int,
                            digest: str, say=print) -> torch.Tensor:
    """A calibration (A, 2) for fold teachers (attributes_crossfit.py oof's fold files): each one scores the
    training people of its own fold, whom it never saw, and fit_calibration runs on all those scores
    together. A teacher p = 0.5 is balanced on the faces it trained on, and on people it never saw it
    leans to each attribute's common side (on this project's real faces: more "young" than there are);
    its soft labels for the unlabelled faces, new people too, carry the lean unless calibrated like this."""
    scores, labels = [], []
    for path in teachers:
        model, info = load_teacher(path, faces.names, digest) if Path(path).suffix.lower() != ".csv" else (None, {})
        fold = info.get("fold")
        if not (isinstance(fold, list) and len(fold) == 2 and all(type(v) is int for v in fold) and 0 <= fold[0] < fold[1]):
            raise FaceganError(f"calibration needs fold teachers (attributes_crossfit.py oof), and {path} is not one: "
                               f"it has no labelled faces it never saw to calibrate on")
        k, n = fold
        unseen = train_index[identity_folds(faces, train_index, n, split_seed) == k]
        scores.append(predict(model, faces.images[unseen]))
        labels.append(faces.labels[unseen])
    calibration = fit_calibration(torch.cat(scores), torch.cat(labels))
    say(f"calibrated the teachers on {sum(len(s) for s in scores):,} labelled faces of people each had not seen")
    return calibration
