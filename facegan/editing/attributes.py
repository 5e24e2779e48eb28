"""Face attributes: CelebA's label formats, labelled face sets, and the attribute classifier's training,
held-out report, export and scoring.

Labels are float (N, A) in {0, 1}, with NaN where an attribute is unknown for an image (the built-in
synthetic faces know only some of CelebA's 40); unknown entries are left out of the loss and the report.
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from facegan.data.images import IMAGE_EXTENSIONS, decode_images, list_images, to_unit_range, warn_unreadable
from facegan.data.labels import LabelledFaces, load_labelled
from facegan.editing.distill import hint_targets, load_unlabelled, read_teacher_scores
from facegan.errors import FaceganError
from facegan.fileio import atomic_path, load_module_state, read_tagged_safetensors
from facegan.models.classifiers.attributes import AttributeClassifier

CLASSIFIER_FORMAT = "facegan-attribute-classifier"


# ----------------------------------------------------------------------------- label files


# ----------------------------------------------------------------------------- labelled face sets


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


# ----------------------------------------------------------------------------- distillation


# ----------------------------------------------------------------------------- training and report
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


@torch.no_grad()
def predict(model: AttributeClassifier, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """uint8 (N, C, R, R) or float in [-1, 1] -> probabilities (N, A), in eval mode."""
    model.eval()
    out = []
    for chunk in images.split(batch_size):
        x = to_unit_range(chunk) if chunk.dtype == torch.uint8 else chunk.float()
        out.append(torch.sigmoid(model(x.to(next(model.parameters()).device))).cpu())
    return torch.cat(out)


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


# ----------------------------------------------------------------------------- files
def save_classifier(model: AttributeClassifier, path: str | Path, names: tuple[str, ...], info: dict) -> Path:
    """fp16 safetensors (a few MB) with the attribute names, architecture and ``info`` (data, accuracy)."""
    weights = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": CLASSIFIER_FORMAT, "arch": json.dumps(model.arch()), "attributes": json.dumps(list(names)),
                "info": json.dumps(info)}
    with atomic_path(path) as tmp:
        save_file(weights, str(tmp), metadata=metadata)
    return Path(path)


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> tuple[AttributeClassifier, tuple[str, ...], dict]:
    """(model in eval mode, attribute names, info) from a file written by save_classifier; any other
    file gets one line saying what it is not."""
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"attribute classifier {path} does not exist; train one with: facegan attributes train")
    weights, metadata = read_tagged_safetensors(path, CLASSIFIER_FORMAT, "facegan attribute classifier")
    try:
        arch, names = json.loads(metadata["arch"]), tuple(json.loads(metadata["attributes"]))
        model = AttributeClassifier(int(arch["num_attributes"]), int(arch["channels"]), int(arch["width"]))
        info = json.loads(metadata.get("info", "{}"))
    except (KeyError, TypeError, ValueError) as e:  # metadata edited or written by something else
        raise FaceganError(f"{path} has unreadable classifier metadata ({type(e).__name__}: {e})") from None
    load_module_state(model, weights, str(path))  # load_state_dict casts the fp16 file to fp32
    return model.to(device).eval(), names, info


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


# ----------------------------------------------------------------------------- commands
def train_and_report(data: str, attrs: str | None, out: str | Path, epochs: int = 20, holdout: float = 0.15,
                     seed: int = 0, width: int = 32, say=print, split_seed: int | None = None,
                     unlabelled: str | None = None, unlabelled_ids: str | None = None,
                     teachers: list[str] = (), hint: str | None = None, hint_weight: float = 1.0) -> dict[str, dict]:
    """`facegan attributes train`: load, split by identity (``split_seed``, default ``seed``), train
    (distilling ``teachers`` on the ``unlabelled`` faces too, when given), report on the held-out part and
    save the classifier with the report and the split's digest in its metadata. ``hint``: a feature table (read_feature_table) for every training face,
    regressed from the classifier's features with ``hint_weight`` (train_classifier's hint). Returns the report."""
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


def format_report(scores: dict[str, dict]) -> str:
    lines = ["| attribute | balanced accuracy | AUC | positives / held out |", "|---|---|---|---|"]
    lines += [f"| {name} | {s['balanced_accuracy']:.3f} | {s['auc']:.3f} | {s['positives']} / {s['count']} |"
              for name, s in scores.items()]
    return "\n".join(lines)


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


CLASSIFIER_SIDE = 64  # the attribute classifier sees 64x64 faces; larger generators are downsampled


def resize_for_attribute_classifier(images: torch.Tensor) -> torch.Tensor:
    """(N, C, R, R) in [-1, 1] -> (N, C, 64, 64): what the attribute classifier was trained on."""
    if images.shape[-1] == CLASSIFIER_SIDE:
        return images
    return F.interpolate(images, size=(CLASSIFIER_SIDE, CLASSIFIER_SIDE), mode="area")


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
