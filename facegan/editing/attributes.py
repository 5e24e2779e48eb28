"""Face attributes: CelebA's label formats, labelled face sets, and the attribute classifier's training,
held-out report, export and scoring.

Labels are float (N, A) in {0, 1}, with NaN where an attribute is unknown for an image (the built-in
synthetic faces know only some of CelebA's 40); unknown entries are left out of the loss and the report.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from facegan.data.images import (IMAGE_EXTENSIONS, decode_images, list_images, load_synthetic, to_unit_range,
                                  warn_unreadable)
from facegan.editing.names import CELEBA_ATTRIBUTES
from facegan.errors import FaceganError
from facegan.fileio import atomic_path, load_module_state, read_tagged_safetensors
from facegan.models.classifiers.attributes import AttributeClassifier

IDENTITY_COLUMNS = ("celeba_identity", "identity")  # CSV columns that are not attributes
CLASSIFIER_FORMAT = "facegan-attribute-classifier"


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


# ----------------------------------------------------------------------------- label files
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


# ----------------------------------------------------------------------------- labelled face sets
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
    from facegan.data.synthetic_faces import HAIR_NAMES

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


def identity_folds(faces: LabelledFaces, train_index: torch.Tensor, folds: int, split_seed: int) -> torch.Tensor:
    """(T,) fold number in [0, folds) for each training image; every image of a person in one fold.
    Seeded by the split's seed + 1 (another draw than the split's), so a split's folds are fixed."""
    people, inverse = _people(faces.identities[train_index]).unique(return_inverse=True)
    fold_of_person = torch.randperm(len(people), generator=torch.Generator().manual_seed(split_seed + 1)) % folds
    return fold_of_person[inverse]


def split_digest(faces: LabelledFaces, held_index: torch.Tensor) -> str:
    """A fingerprint of a split's held-out part (its images, labels and people): a teacher whose
    digest differs was trained on some of these faces, and distilling from it would leak them."""
    digest = hashlib.sha256()
    for tensor in (faces.images[held_index], faces.labels[held_index], faces.identities[held_index]):
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------- distillation
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


def teacher_probabilities(teachers: list[str], names: tuple[str, ...], digest: str, images: torch.Tensor,
                          files: list[str], say=print, calibration: torch.Tensor | None = None) -> torch.Tensor:
    """Soft labels (U, A) for the unlabelled ``images`` (named ``files``): per attribute, the mean of the
    teachers that give it (NaN where none does: left out of the loss). A teacher is a classifier file,
    which must predict ``names`` and have held out the same faces (``digest``), or a scores CSV (any
    scorer's probabilities, e.g. from `facegan attributes score`: a key column matched by file name,
    then some of the attributes), whose training facegan cannot check, so a note says so.
    ``calibration`` (A, 2), from calibrate_fold_teachers: applied to each classifier teacher's output."""
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
        p = predict(load_teacher(path, names, digest)[0], images)
        total += p if calibration is None else calibrate(p, calibration)
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
    """A calibration (A, 2) for fold teachers (`attributes train --fold K/N`): each one scores the training
    people of its own fold, whom it never saw, and fit_calibration runs on all those scores together. A
    teacher p = 0.5 is balanced on the faces it trained on, and on people it never saw it leans to each
    attribute's common side (on this project's real faces: more "young" than there are); its soft labels
    for the unlabelled faces, new people too, carry the lean unless calibrated like this."""
    scores, labels = [], []
    for path in teachers:
        model, info = load_teacher(path, faces.names, digest) if Path(path).suffix.lower() != ".csv" else (None, {})
        fold = info.get("fold")
        if not (isinstance(fold, list) and len(fold) == 2 and all(type(v) is int for v in fold) and 0 <= fold[0] < fold[1]):
            raise FaceganError(f"--calibrate needs fold teachers (attributes train --fold K/N), and {path} is not one: "
                               f"it has no labelled faces it never saw to calibrate on")
        k, n = fold
        unseen = train_index[identity_folds(faces, train_index, n, split_seed) == k]
        scores.append(predict(model, faces.images[unseen]))
        labels.append(faces.labels[unseen])
    calibration = fit_calibration(torch.cat(scores), torch.cat(labels))
    say(f"calibrated the teachers on {sum(len(s) for s in scores):,} labelled faces of people each had not seen")
    return calibration


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
    e.g. a pretrained face network's embedding per face (bench/attributes_dlib.py hints writes one)."""
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


# ----------------------------------------------------------------------------- training and report
def _augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to 4 px (reflect padding): (N, C, R, R) float."""
    n, _, r, _ = images.shape
    flip = torch.rand(n, generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(3), images)
    padded = F.pad(images, (4, 4, 4, 4), mode="reflect")
    dx, dy = torch.randint(0, 9, (2,), generator=generator).tolist()  # one shift per batch: cheap
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
                     teachers: list[str] = (), fold: tuple[int, int] | None = None,
                     calibrate_teachers: bool = False, hint: str | None = None,
                     hint_weight: float = 1.0) -> dict[str, dict]:
    """`facegan attributes train`: load, split by identity (``split_seed``, default ``seed``), train
    (distilling ``teachers`` on the ``unlabelled`` faces too, when given; calibrated out of fold with
    ``calibrate_teachers``), report on the held-out part and save the classifier with the report and
    the split's digest in its metadata. ``fold`` = (k, n): train on the training people outside fold k
    of n only (a fold teacher). ``hint``: a feature table (read_feature_table) for every training face,
    regressed from the classifier's features with ``hint_weight`` (train_classifier's hint). Returns the report."""
    faces = load_labelled(data, attrs)
    split_seed = seed if split_seed is None else split_seed
    train_index, held_index = split_by_identity(faces, holdout, split_seed)
    digest = split_digest(faces, held_index)
    say(f"{faces.source}: training on {len(train_index):,}, holding out {len(held_index):,} (by identity)")
    soft, calibration, fit_index, files = None, None, train_index, []
    if fold is not None:
        fit_index = train_index[identity_folds(faces, train_index, fold[1], split_seed) != fold[0]]
        say(f"fold {fold[0]} of {fold[1]}: training on the other folds' people only ({len(fit_index):,} faces)")
    if unlabelled:
        images, files = load_unlabelled(unlabelled, faces, held_index, unlabelled_ids, faces.images.shape[-1], say)
        if calibrate_teachers:
            calibration = calibrate_fold_teachers(list(teachers), faces, train_index, split_seed, digest, say)
        soft = (images, teacher_probabilities(list(teachers), faces.names, digest, images, files, say, calibration))
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
        info |= {"unlabelled_images": len(soft[0]), "teachers": [Path(t).name for t in teachers],
                 "calibrated_teachers": calibrate_teachers}
    if fold is not None:
        info["fold"] = list(fold)
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
