"""Training the attribute classifier and judging it: an identity split, teachers' soft labels for
distillation, the weighted multi-label BCE loop, and the held-out report.

Labels are float (N, A) in {0, 1}, with NaN where an attribute is unknown for an image (the built-in
synthetic faces know only some of CelebA's 40); unknown entries are left out of the loss and the report.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facegan.data.images import to_unit_range
from facegan.data.labels import LabelledFaces
from facegan.editing.attribute_classifier import load_classifier, predict
from facegan.editing.distill import read_teacher_scores
from facegan.errors import FaceganError
from facegan.models.classifiers.attributes import AttributeClassifier


def _people(identities: torch.Tensor) -> torch.Tensor:
    """(N,) person ids, each image of unknown identity (-1) made a person of its own."""
    ids = identities.clone()
    unknown = ids < 0
    ids[unknown] = -1 - torch.arange(int(unknown.sum()))
    return ids


def split_by_identity(faces: LabelledFaces, holdout: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and held-out indices; every image of a person lands on one side (unknown identity: its own)."""
    ids = _people(faces.identities)
    people = ids.unique()
    order = people[torch.randperm(len(people), generator=torch.Generator().manual_seed(seed))]
    held_people = order[:max(1, round(holdout * len(people)))]
    held = torch.isin(ids, held_people)
    return (~held).nonzero().squeeze(1), held.nonzero().squeeze(1)


def split_digest(faces: LabelledFaces, held_index: torch.Tensor) -> str:
    """A fingerprint of a split's held-out part (its images, labels and people): a teacher whose
    digest differs was trained on some of these faces, and distilling from it would leak them."""
    digest = hashlib.sha256()
    for tensor in (faces.images[held_index], faces.labels[held_index], faces.identities[held_index]):
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def teacher_probabilities(teachers: list[str], names: tuple[str, ...], digest: str, images: torch.Tensor,
                          files: list[str], say=print) -> torch.Tensor:
    """Soft labels (U, A) for the unlabelled ``images`` (named ``files``): per attribute, the mean of the
    teachers that give it (NaN where none does: left out of the loss). A teacher is a classifier file,
    which must predict ``names`` and have held out the same faces (``digest``), or a scores CSV (any
    scorer's probabilities, e.g. from `facegan attributes score`: a key column matched by file name,
    then some of the attributes), whose training facegan cannot check, so a note says so."""
    total, count = torch.zeros(len(files), len(names)), torch.zeros(len(names))
    for path in teachers:
        if Path(path).suffix.lower() == ".csv":
            columns, table = read_teacher_scores(path, names)
            missing = [f for f in files if f not in table]
            if missing:
                raise FaceganError(f"teacher {path} has no probabilities for {len(missing):,} of the {len(files):,} "
                                   f"unlabelled faces (first: {missing[0]}); score every one of them")
            index = [names.index(c) for c in columns]
            total[:, index] += torch.tensor([table[f] for f in files])
            count[index] += 1
            say(f"note: teacher {path} is a table of probabilities: facegan cannot check that its scorer never "
                f"saw the held-out people (classifier teachers are checked)")
            continue
        total += predict(load_teacher(path, names, digest)[0], images)
        count += 1
    return total / count  # 0 / 0 = NaN for an attribute no teacher gives


def load_teacher(path: str, names: tuple[str, ...], digest: str) -> tuple[AttributeClassifier, dict]:
    """(model, info) of a classifier teacher that predicts ``names`` and held out this split (``digest``)."""
    model, teacher_names, info = load_classifier(path)
    if teacher_names != names:
        raise FaceganError(f"teacher {path} predicts other attributes than these labels")
    if info.get("split_digest") != digest:
        raise FaceganError(f"teacher {path} held out other faces than this split (it was trained with another "
                           f"--holdout, --split-seed or data), so it has seen faces this report holds out; "
                           f"train it with the same ones")
    return model, info


def _augment(images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to 4 px (reflect padding): (N, C, R, R) float."""
    n, _, r, _ = images.shape
    flip = torch.rand(n, generator=rng) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(3), images)
    padded = F.pad(images, (4, 4, 4, 4), mode="reflect")
    dx, dy = torch.randint(0, 9, (2,), generator=rng).tolist()  # one shift per batch: cheap
    return padded[:, :, dy:dy + r, dx:dx + r]


def train_classifier(faces: LabelledFaces, train_index: torch.Tensor, epochs: int = 20, batch_size: int = 64,
                     lr: float = 2e-3, width: int = 32, seed: int = 0, say=print,
                     soft: tuple[torch.Tensor, torch.Tensor] | None = None,
                     hint: tuple[torch.Tensor, float] | None = None) -> AttributeClassifier:
    """Multi-label BCE over the known labels, each attribute's positives weighted by its
    negatives/positives ratio (within [0.1, 10]), so that both classes count alike and p = 0.5 is a
    balanced threshold: rare attributes (Eyeglasses: 7% of CelebA) are not ignored, common ones
    (Young: 76%) not assumed. AdamW with a one-cycle schedule.

    ``soft`` = (uint8 images (U, C, R, R), probabilities (U, A)): faces without labels and teachers'
    probabilities for them (distillation). They join the training set with plain BCE towards those
    probabilities: the teachers were trained with the weighting above, so theirs already carry it.

    ``hint`` = (targets (T + U, D), weight): a feature vector for every training image, the labelled
    ones (in ``train_index`` order) then the soft ones, e.g. a pretrained face network's embedding. A
    linear layer on the pooled features, used only here, regresses them (standardised per dimension),
    weight x mean squared error added to the loss, so that the features learn what that network knows."""
    torch.manual_seed(seed)
    model = AttributeClassifier(len(faces.names), faces.images.shape[1], width)
    images, targets = faces.images[train_index], faces.labels[train_index]
    known = ~targets.isnan()
    positives = torch.where(known, targets, 0).sum(0)
    pos_weight = ((known.sum(0) - positives) / positives.clamp(min=1)).clamp(0.1, 10)
    positive_weight = pos_weight.expand(len(images), -1)  # (N, A): each row's weight on its positive term
    if soft is not None:
        images, targets = torch.cat([images, soft[0]]), torch.cat([targets, soft[1]])
        positive_weight = torch.cat([positive_weight, torch.ones_like(soft[1])])
    steps_per_epoch = max(1, len(images) // batch_size)
    parameters = list(model.parameters())
    if hint is not None:
        hint_features, hint_weight = hint
        if len(hint_features) != len(images):
            raise FaceganError(f"hint: {len(hint_features):,} feature vectors for {len(images):,} training images")
        hint_features = (hint_features - hint_features.mean(0)) / hint_features.std(0).clamp(min=1e-6)  # (T + U, D)
        hint_head = nn.Linear(model.head[-1].in_features, hint_features.shape[1])
        parameters += list(hint_head.parameters())
    optimiser = torch.optim.AdamW(parameters, lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=epochs * steps_per_epoch)
    rng = torch.Generator().manual_seed(seed)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=rng)
        total = hint_total = 0.0
        for b in range(steps_per_epoch):
            index = order[b * batch_size:(b + 1) * batch_size]
            features = model.features(_augment(to_unit_range(images[index]), rng))  # (B, 8w)
            logits = model.head(features)  # (B, A)
            y = targets[index]
            mask = ~y.isnan()
            y = torch.where(mask, y, 0)
            # BCE with a per-row positive weight w: -(w y log p + (1 - y) log(1 - p)), over known labels
            loss = -(positive_weight[index] * y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits))
            loss = (loss * mask).sum() / mask.sum().clamp(min=1)
            if hint is not None:
                hint_loss = F.mse_loss(hint_head(features), hint_features[index])  # 1 = knows nothing of it
                loss = loss + hint_weight * hint_loss
                hint_total += hint_loss.item()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item()
        say(f"epoch {epoch + 1}/{epochs}: loss {total / steps_per_epoch:.4f}"
            + (f" (hint {hint_total / steps_per_epoch:.3f})" if hint is not None else ""))
    return model.eval()


def report(probabilities: torch.Tensor, labels: torch.Tensor, names: tuple[str, ...]) -> dict[str, dict]:
    """Per attribute with both classes among the known labels: balanced accuracy (the mean of the
    true-positive and true-negative rates at p = 0.5), ROC AUC, and the positives/count."""
    from torchmetrics.functional.classification import binary_auroc

    out = {}
    for a, name in enumerate(names):
        known = ~labels[:, a].isnan()
        y, p = labels[known, a], probabilities[known, a]
        if y.numel() == 0 or y.min() == y.max():
            continue
        predicted = p >= 0.5
        tpr = (predicted & (y == 1)).sum() / (y == 1).sum()
        tnr = (~predicted & (y == 0)).sum() / (y == 0).sum()
        out[name] = {"balanced_accuracy": float((tpr + tnr) / 2), "auc": float(binary_auroc(p, y.long())),
                     "positives": int(y.sum()), "count": int(y.numel())}
    return out


def format_report(scores: dict[str, dict]) -> str:
    """report()'s scores as a Markdown table, one row per attribute."""
    lines = ["| attribute | balanced accuracy | AUC | positives / held out |", "|---|---|---|---|"]
    lines += [f"| {name} | {s['balanced_accuracy']:.3f} | {s['auc']:.3f} | {s['positives']} / {s['count']} |"
              for name, s in scores.items()]
    return "\n".join(lines)
