"""The face-attribute classifier (facegan.editing.attribute_classifier, attribute_training and
attribute_commands): CelebA's label formats, identity splits, learning a planted attribute, the held-out
report, its file and the CLI."""
import csv
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from facegan.cli import main
from facegan.data import labels as label_files
from facegan.editing.attribute_classifier import load_classifier, predict, save_classifier
from facegan.editing.attribute_training import (report, split_by_identity, split_digest, teacher_probabilities,
                                                train_classifier)
from facegan.editing import distill
from facegan.errors import FaceganError
from facegan.models.classifiers.attributes import AttributeClassifier


def write_celeba_file(path, rows, names=("Smiling", "Male")):
    lines = [str(len(rows)), " ".join(names)] + [f"{f}  " + " ".join(f"{v:2d}" for v in vals) for f, vals in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_celeba_attribute_file_is_parsed_to_binary_labels(tmp_path):
    path = write_celeba_file(tmp_path / "list_attr_celeba.txt", [("000001.jpg", (1, -1)), ("000002.jpg", (-1, 1))])
    names, rows = label_files.read_celeba_attr_file(path)
    assert names == ("Smiling", "Male")
    assert rows == {"000001.jpg": [1.0, 0.0], "000002.jpg": [0.0, 1.0]}


@pytest.mark.parametrize("text, message", [
    ("two\nSmiling Male\n", ":1: not a CelebA attribute file"),
    ("1\nSmiling Male\n000001.jpg 1\n", ":3: expected a file name and 2 values, got 2 fields"),
    ("1\nSmiling Male\n000001.jpg 1 2\n", ":3: attribute values must be -1/1"),
    ("3\nSmiling Male\n000001.jpg 1 1\n", "announces 3 images but 1 are listed"),
])
def test_malformed_celeba_files_get_one_line_with_the_line_number(tmp_path, text, message):
    path = tmp_path / "attrs.txt"
    path.write_text(text)
    with pytest.raises(FaceganError, match=message):
        label_files.read_celeba_attr_file(path)


def test_attribute_csv_with_identities(tmp_path):
    path = tmp_path / "attrs.csv"
    path.write_text("member,celeba_identity,Smiling,Male\nfaces/a.jpg,7,1,-1\nfaces/b.jpg,7,-1,1\n")
    names, rows, ids = label_files.read_attr_csv(path)
    assert names == ("Smiling", "Male") and rows["faces/a.jpg"] == [1.0, 0.0] and ids == {"faces/a.jpg": 7, "faces/b.jpg": 7}
    path.write_text("file,Smiling\na.jpg,1\n")
    with pytest.raises(FaceganError, match="starts with the column 'member'"):
        label_files.read_attr_csv(path)
    path.write_text("member,Smiling\na.jpg,1,1\n")
    with pytest.raises(FaceganError, match=":2: expected 2 fields, got 3"):
        label_files.read_attr_csv(path)


def planted_faces(folder, n=240, size=32, seed=0):
    """Images whose top half is bright exactly when the attribute 'Bright_Top' is present, plus noise;
    written as PNGs with a CSV (two images per identity)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        label = int(rng.random() < 0.5)
        pixels = rng.integers(60, 120, size=(size, size, 3))
        if label:
            pixels[: size // 2] += 100  # the top half: a horizontal flip keeps it
        Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i:04d}.png")
        rows.append((f"{i:04d}.png", i // 2, 1 if label else -1, 1 if rng.random() < 0.5 else -1))
    with open(folder.parent / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["member", "celeba_identity", "Bright_Top", "Coin"])
        writer.writerows(rows)
    return folder.parent / "labels.csv"


def test_the_classifier_learns_a_planted_attribute_and_not_a_coin_flip(tmp_path):
    labels = planted_faces(tmp_path / "faces")
    faces = label_files.load_labelled(str(tmp_path / "faces"), str(labels), size=32)
    assert len(faces) == 240 and faces.names == ("Bright_Top", "Coin")
    train, held = split_by_identity(faces, 0.25, seed=0)
    assert set(faces.identities[train].tolist()).isdisjoint(faces.identities[held].tolist())  # people on one side
    assert len(train) + len(held) == 240
    model = train_classifier(faces, train, epochs=15, batch_size=32, width=8, say=lambda _: None)
    scores = report(predict(model, faces.images[held]), faces.labels[held], faces.names)
    assert scores["Bright_Top"]["balanced_accuracy"] > 0.95 and scores["Bright_Top"]["auc"] > 0.98
    assert scores["Coin"]["auc"] < 0.75  # nothing to learn: near chance


def test_report_is_balanced_accuracy_and_auc_over_known_labels():
    labels = torch.tensor([[1.0], [1.0], [0.0], [0.0], [0.0], [math.nan]])
    probs = torch.tensor([[0.9], [0.4], [0.1], [0.2], [0.6], [0.99]])
    scores = report(probs, labels, ("A",))["A"]
    assert scores["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)  # TPR 1/2, TNR 2/3
    assert scores["auc"] == pytest.approx(5 / 6)  # 5 of the 6 positive-negative pairs are ordered
    assert (scores["positives"], scores["count"]) == (2, 5)  # the unknown label is left out


def test_synthetic_faces_carry_the_celeba_attributes_their_renderer_knows():
    faces = label_files.load_labelled("synthetic", synthetic_count=40, size=32)
    assert faces.names == label_files.CELEBA_ATTRIBUTES and faces.labels.shape == (40, 40)
    known = ~faces.labels.isnan().all(0)
    assert {label_files.CELEBA_ATTRIBUTES[i] for i in known.nonzero().flatten()} >= {"Male", "Smiling", "Eyeglasses", "No_Beard",
                                                                           "Gray_Hair", "Black_Hair", "Blond_Hair"}
    assert faces.labels[:, label_files.CELEBA_ATTRIBUTES.index("Young")].isnan().all()


def test_classifier_file_round_trip_and_hostile_files(tmp_path):
    model = AttributeClassifier(2, 3, width=8).eval()
    path = save_classifier(model, tmp_path / "c.safetensors", ("A", "B"), {"held_out": {"A": {"auc": 0.9}}})
    loaded, names, info = load_classifier(path)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert names == ("A", "B") and info["held_out"]["A"]["auc"] == 0.9
    assert torch.allclose(loaded(x), model.half().float()(x), atol=1e-4)  # stored in fp16
    (tmp_path / "evil.safetensors").write_bytes(b"\x80\x04cos\nsystem\n")  # a pickle, not safetensors
    with pytest.raises(FaceganError, match="not a readable safetensors file"):
        load_classifier(tmp_path / "evil.safetensors")
    from facegan.interop.export import export_generator
    from facegan.models.dcgan import Generator
    export = export_generator(Generator(8, 0.125), tmp_path / "generator.safetensors")
    with pytest.raises(FaceganError, match="not a facegan attribute classifier"):
        load_classifier(export)
    with pytest.raises(FaceganError, match="does not exist"):
        load_classifier(tmp_path / "missing.safetensors")


def test_train_and_score_from_the_cli(tmp_path, capsys):
    labels = planted_faces(tmp_path / "faces", n=64)
    out = tmp_path / "attrs.safetensors"
    assert main(["attributes", "train", "--data", str(tmp_path / "faces"), "--attrs", str(labels), "--epochs", "1",
                 "--out", str(out)]) == 0
    assert "| Bright_Top |" in capsys.readouterr().out
    scores = tmp_path / "scores.csv"
    (tmp_path / "faces" / "broken.png").write_bytes(b"not a png")  # skipped with a warning, not fatal
    assert main(["attributes", "score", "--classifier", str(out), "--data", str(tmp_path / "faces"),
                 "--out", str(scores), "--device", "cpu"]) == 0
    assert "skipped 1 unreadable image(s)" in capsys.readouterr().out
    rows = list(csv.reader(scores.open()))
    assert rows[0] == ["image", "Bright_Top", "Coin"] and len(rows) == 65 and rows[1][0] == "0000.png"
    assert "broken.png" not in {r[0] for r in rows}
    from facegan.interop.export import export_generator
    from facegan.models.dcgan import Generator
    G = export_generator(Generator(8, 0.125), tmp_path / "generator.safetensors")
    assert main(["attributes", "score", "--classifier", str(out), "--data", str(G), "--n", "3", "--seed", "5",
                 "--out", str(scores), "--device", "cpu"]) == 0
    rows = list(csv.reader(scores.open()))
    assert rows[0][0] == "seed" and [r[0] for r in rows[1:]] == ["5", "6", "7"]
    assert all(0 <= float(v) <= 1 for r in rows[1:] for v in r[1:])


def test_soft_labels_alone_teach_an_attribute_the_labels_leave_unknown(tmp_path):
    """Distillation's loss: Bright_Top is unknown (NaN) in every label, so only the soft targets of the
    unlabelled faces can teach it."""
    planted = label_files.load_labelled(str(tmp_path / "faces"), str(planted_faces(tmp_path / "faces", n=240)), size=32)
    train, held = split_by_identity(planted, 0.25, seed=0)
    unknown = planted.labels.clone()
    unknown[:, 0] = math.nan
    faces = label_files.LabelledFaces(planted.images, unknown, planted.names, planted.identities, "planted")
    truth = planted.labels[train, 0]
    soft = (planted.images[train], torch.stack([0.05 + 0.9 * truth, torch.full_like(truth, 0.5)], 1))
    model = train_classifier(faces, train, epochs=15, batch_size=32, width=8, say=lambda _: None, soft=soft)
    scores = report(predict(model, planted.images[held]), planted.labels[held], planted.names)
    assert scores["Bright_Top"]["auc"] > 0.98  # learnt from the soft labels alone


def test_unlabelled_faces_of_held_out_people_are_left_out(tmp_path):
    labels = planted_faces(tmp_path / "faces", n=40)  # people 0..19, two images each
    faces = label_files.load_labelled(str(tmp_path / "faces"), str(labels), size=32)
    train, held = split_by_identity(faces, 0.25, seed=0)
    held_people = set(faces.identities[held].tolist())
    unlabelled = tmp_path / "unlabelled"
    planted_faces(unlabelled / "faces", n=40, seed=1)  # the same file names 0000..0039.png
    for i in range(10):
        Image.new("RGB", (32, 32), (i, 0, 0)).save(unlabelled / "faces" / f"new{i}.png")
    ids = tmp_path / "ids.csv"  # new0..new9 belong to people 0..9
    ids.write_text("member,celeba_file,celeba_identity\n" + "".join(f"faces/new{i}.png,x,{i}\n" for i in range(10)))
    said = []
    by_name, names = distill.load_unlabelled(str(unlabelled), faces, held, None, 32, say=said.append)
    assert len(by_name) == len(names) == 50 - len(held)  # copies of held-out files (same name) left out
    assert not set(names) & {faces.files[i] for i in held.tolist()}
    assert "no identities" in said[0]
    by_person, _ = distill.load_unlabelled(str(unlabelled), faces, held, str(ids), 32, say=said.append)
    assert len(by_person) == 50 - len(held) - sum(i in held_people for i in range(10))
    ids.write_text("member,Smiling\na.png,1\n")
    with pytest.raises(FaceganError, match="an identity CSV has the columns member and celeba_identity"):
        distill.load_unlabelled(str(unlabelled), faces, held, str(ids), 32)


def test_distillation_from_the_cli_and_teachers_of_another_split_refused(tmp_path, capsys):
    labels = planted_faces(tmp_path / "faces", n=64)
    planted_faces(tmp_path / "unlabelled" / "faces", n=64, seed=1)
    common = ["attributes", "train", "--data", str(tmp_path / "faces"), "--attrs", str(labels), "--epochs", "1"]
    teacher, other, student = (tmp_path / f"{n}.safetensors" for n in ("teacher", "other", "student"))
    assert main([*common, "--seed", "1", "--split-seed", "0", "--out", str(teacher)]) == 0
    assert main([*common, "--split-seed", "1", "--out", str(other)]) == 0
    capsys.readouterr()
    distil = [*common, "--unlabelled", str(tmp_path / "unlabelled"), "--out", str(student)]
    assert main([*distil, "--teacher", str(teacher)]) == 0
    info = load_classifier(student)[2]
    assert info["teachers"] == ["teacher.safetensors"] and info["split_seed"] == 0
    assert info["unlabelled_images"] == 64 - info["held_out_images"]  # the held-out files' copies left out
    assert info["split_digest"] == load_classifier(teacher)[2]["split_digest"]
    assert main([*distil, "--teacher", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert "held out other faces than this split" in err and len(err.splitlines()) == 1
    scores = tmp_path / "teacher.csv"  # another scorer's probabilities: here `attributes score`'s own CSV
    assert main(["attributes", "score", "--classifier", str(teacher), "--data", str(tmp_path / "unlabelled"),
                 "--out", str(scores), "--device", "cpu"]) == 0
    assert main([*distil, "--teacher", str(teacher), "--teacher", str(scores)]) == 0
    assert load_classifier(student)[2]["teachers"] == ["teacher.safetensors", "teacher.csv"]
    assert "cannot check that its scorer never saw the held-out people" in capsys.readouterr().out


def test_a_scores_csv_teaches_the_attributes_it_gives(tmp_path):
    """A CSV teacher (another scorer's probabilities) joins the classifier teachers' mean for its own
    columns only; an attribute no teacher gives stays unknown (NaN, out of the loss)."""
    faces = label_files.load_labelled(str(tmp_path / "faces"), str(planted_faces(tmp_path / "faces", n=32)), size=32)
    train, held = split_by_identity(faces, 0.25, seed=0)
    digest = split_digest(faces, held)
    model = train_classifier(faces, train, epochs=1, batch_size=16, width=8, say=lambda _: None)
    teacher = save_classifier(model, tmp_path / "t.safetensors", faces.names, {"split_digest": digest})
    images, files = faces.images[:3], ["a.png", "b.png", "c.png"]
    scores = tmp_path / "dlib.csv"
    scores.write_text("member,Coin\nsub/a.png,0.1\nb.png,0.2\nc.png,0.9\n")  # matched by file name
    said = []
    mixed = teacher_probabilities([str(teacher), str(scores)], faces.names, digest, images, files, said.append)
    alone = predict(load_classifier(teacher)[0], images)  # the file's fp16 weights
    coin = faces.names.index("Coin")
    assert torch.allclose(mixed[:, coin], (alone[:, coin] + torch.tensor([0.1, 0.2, 0.9])) / 2)
    others = [a for a in range(len(faces.names)) if a != coin]
    assert torch.allclose(mixed[:, others], alone[:, others])
    assert "cannot check that its scorer never saw the held-out people" in said[0]
    only_csv = teacher_probabilities([str(scores)], faces.names, digest, images, files, said.append)
    assert only_csv[:, others].isnan().all() and not only_csv[:, coin].isnan().any()


def hint_losses(said):
    """The per-epoch hint losses in train_classifier's progress lines ("... (hint 0.123)")."""
    return [float(m) for line in said for m in re.findall(r"\(hint ([0-9.]+)\)", line)]


def test_a_hint_is_learnt_from_the_faces_it_belongs_to(tmp_path):
    """The hint head regresses each training face's own features (here: whether its top half is bright,
    an attribute the labels leave unknown): its loss falls far below 1, the loss of knowing nothing
    (the targets are standardised). The same values dealt to the wrong faces cannot be learnt."""
    faces = label_files.load_labelled(str(tmp_path / "faces"), str(planted_faces(tmp_path / "faces", n=120)), size=32)
    train, _ = split_by_identity(faces, 0.25, seed=0)
    truth = faces.labels[train, :1].clone()  # (T, 1) the planted attribute, as a feature
    faces.labels[:, 0] = float("nan")  # ... which the labels do not give
    shuffled = truth[torch.randperm(len(truth), generator=torch.Generator().manual_seed(0))]
    losses = {}
    for name, targets in (("own", truth), ("shuffled", shuffled)):
        said = []
        train_classifier(faces, train, epochs=8, batch_size=16, width=8, say=said.append, hint=(targets, 1.0))
        losses[name] = hint_losses(said)
    assert len(losses["own"]) == 8 and losses["own"][-1] < 0.3, losses
    assert min(losses["shuffled"]) > 0.6, losses
    with pytest.raises(FaceganError, match="hint: 5 feature vectors for 90 training images"):
        train_classifier(faces, train, epochs=1, say=lambda _: None, hint=(truth[:5], 1.0))


def test_hint_table_from_the_cli(tmp_path, capsys):
    """--hint: a feature table for every labelled training face and unlabelled face, matched by file name;
    the classifier file stays a plain classifier (the hint's layer is dropped) and records the hint."""
    labels = planted_faces(tmp_path / "faces", n=32)
    planted_faces(tmp_path / "unlabelled" / "faces", n=32, seed=1)
    rng = np.random.default_rng(0)
    table = tmp_path / "hints.csv"
    table.write_text("member,f0,f1,f2\n" + "".join(f"faces/{i:04d}.png,{','.join(f'{v:.3f}' for v in rng.normal(size=3))}\n"
                                                 for i in range(32)))  # one row per name: both folders use 0000..0031
    common = ["attributes", "train", "--data", str(tmp_path / "faces"), "--attrs", str(labels), "--epochs", "1"]
    teacher, student = tmp_path / "teacher.safetensors", tmp_path / "student.safetensors"
    assert main([*common, "--out", str(teacher)]) == 0
    capsys.readouterr()
    distil = [*common, "--unlabelled", str(tmp_path / "unlabelled"), "--teacher", str(teacher), "--out", str(student)]
    assert main([*distil, "--hint", str(table), "--hint-weight", "0.5"]) == 0
    assert len(hint_losses(capsys.readouterr().out.splitlines())) == 1
    model, _, info = load_classifier(student)
    assert info["hint"] == {"table": "hints.csv", "weight": 0.5, "features": 3}
    assert model.state_dict().keys() == AttributeClassifier(2, 3, 32).state_dict().keys()
    table.write_text("member,f0\n0000.png,0.1\n")
    assert main([*distil, "--hint", str(table)]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no row for" in err and "give every labelled and unlabelled face one" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("text, message", [
    ("member,f0\na.png,0.1\na.png\n", "hints.csv:3: expected a key and 1 finite numbers"),
    ("member,f0\na.png,nan\n", "hints.csv:2: expected a key and 1 finite numbers"),
    ("member,f0,f1\na.png,0.1,x\n", "hints.csv:2: expected a key and 2 finite numbers"),
    ("member\n", "hints.csv:1: a hint table has a key column, then one column per feature"),
    (b"\x80\x81PK\x03\x04", "hint table {} is not text"),
    (None, "hint table {} does not exist"),
])
def test_bad_hint_tables_get_one_line(tmp_path, text, message):
    path = tmp_path / "hints.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    with pytest.raises(FaceganError, match=re.escape(message.format(path))):
        distill.hint_targets(path, ["a.png"])


@pytest.mark.parametrize("text, message", [
    ("member,Smiling\na.png,0.1\n", "no probabilities for 2 of the 3 unlabelled faces (first: b.png)"),
    ("member,Smiling\na.png,1.5\n", "dlib.csv:2: expected a key and 1 probabilities in [0, 1]"),
    ("member,Smiling\na.png,yes\n", "dlib.csv:2: expected a key and 1 probabilities in [0, 1]"),
    ("member,Smiling,Handsome\n", "attribute columns among the labels' (unknown: Handsome)"),
    ("member\n", "a teacher's scores CSV has a key column, then attribute columns"),
    (b"\x80\x81PK\x03\x04", "teacher {} is not text (expected a scores CSV)"),
    (None, "teacher {} does not exist"),
])
def test_bad_teacher_scores_get_one_line(tmp_path, text, message):
    if isinstance(text, bytes):
        (tmp_path / "dlib.csv").write_bytes(text)
    elif text is not None:
        (tmp_path / "dlib.csv").write_text(text)
    with pytest.raises(FaceganError, match=re.escape(message.format(tmp_path / "dlib.csv"))):
        teacher_probabilities([str(tmp_path / "dlib.csv")], ("Smiling", "Young"), "x",
                                 torch.zeros(3, 3, 8, 8, dtype=torch.uint8), ["a.png", "b.png", "c.png"])


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "nowhere", "--attrs", "x.csv"], "data folder nowhere does not exist"),
    (["train", "--data", "."], "needs its labels: --attrs"),
    (["train", "--holdout", "1.5"], "--holdout is a share of people"),
    (["train", "--unlabelled", "."], "needs both --unlabelled DIR and at least one --teacher"),
    (["train", "--teacher", "t.safetensors"], "needs both --unlabelled DIR and at least one --teacher"),
    (["train", "--hint-weight", "2"], "--hint-weight weighs the --hint features: give their table"),
    (["train", "--hint", "h.csv", "--hint-weight", "0"], "--hint-weight is a positive number (got 0.0)"),
    (["train", "--hint", "h.csv", "--hint-weight", "nan"], "--hint-weight is a positive number (got nan)"),
    (["train", "--hint", "h.csv"], "--hint matches faces by file name: use a folder of images, not 10,000 built-in synthetic faces"),
    (["score", "--classifier", "missing.safetensors", "--data", "."], "does not exist"),
])
def test_attribute_command_mistakes_get_one_line(args, message, capsys):
    assert main(["attributes", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
