"""facegan bias: attribute shares of generated faces against labelled real ones, with Wilson intervals,
the generator's gap (one classifier on both sides) and the classifier's own bias (against the labels)."""
import json
import math

import numpy as np
import torch
from PIL import Image

from facegan.cli import main
from facegan.editing.bias import Share, bias_rows, label_shares, markdown_table, positive_shares
from facegan.data.celeba import CELEBA_ATTRIBUTES
from facegan.interop.export import export_generator
from facegan.models.dcgan import Generator


def test_wilson_intervals_match_the_formula_and_stay_inside_0_1():
    low, high = Share(20, 100).interval  # p 0.2, n 100: the textbook values 0.1333 .. 0.2888
    assert math.isclose(low, 0.1333, abs_tol=5e-4) and math.isclose(high, 0.2888, abs_tol=5e-4)
    assert Share(0, 50).interval[0] == 0.0 and 0 < Share(0, 50).interval[1] < 0.08  # not the useless [0, 0]
    assert math.isclose(Share(50, 50).interval[1], 1.0) and Share(50, 50).interval[0] > 0.92
    wide, narrow = Share(5, 10).interval, Share(5000, 10000).interval
    assert wide[1] - wide[0] > 10 * (narrow[1] - narrow[0])  # shrinks as 1/sqrt(n)


def test_rows_separate_the_generators_gap_from_the_classifiers_bias():
    names = ("Male", "Eyeglasses")
    generated = positive_shares(torch.tensor([[0.9, 0.1]] * 600 + [[0.1, 0.1]] * 400), names)  # 60 % male
    real_predicted = positive_shares(torch.tensor([[0.9, 0.9]] * 450 + [[0.1, 0.1]] * 550), names)
    real_labels = label_shares(torch.tensor([[1.0, 0.0]] * 400 + [[0.0, 0.0]] * 600), names)
    rows = {r["attribute"]: r for r in bias_rows(generated, real_predicted, real_labels,
                                                  {"Male": {"balanced_accuracy": 0.93}})}
    male, glasses = rows["Male"], rows["Eyeglasses"]
    assert math.isclose(male["gap"], 0.15) and male["significant"]  # 60 % against the classifier's 45 %
    assert math.isclose(male["classifier_bias"], 0.05)  # the classifier sees 45 % where the labels say 40 %
    assert math.isclose(glasses["gap"], -0.45) and math.isclose(glasses["classifier_bias"], 0.45)
    assert male["classifier_balanced_accuracy"] == 0.93 and "classifier_balanced_accuracy" not in glasses
    table = markdown_table(list(rows.values()), None)
    assert table.splitlines()[2].startswith("| Eyeglasses")  # largest gap first
    assert "+15.0 *" in table and "0.93" in table


def test_the_command_reports_a_generator_against_labelled_faces(tmp_path, capsys):
    torch.manual_seed(0)
    export_generator(Generator(latent_dim=8, width=0.0625, resolution=64).eval(), tmp_path / "g.safetensors")
    faces = tmp_path / "faces"
    faces.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(faces / f"{i:06d}.jpg")
        rows.append(f"{i:06d}.jpg," + ",".join("1" if (i + k) % 3 == 0 else "-1" for k in range(40)))
    (tmp_path / "attrs.csv").write_text("member," + ",".join(CELEBA_ATTRIBUTES) + "\n" + "\n".join(rows) + "\n")
    args = ["bias", "--generator", str(tmp_path / "g.safetensors"), "--n", "200", "--data", str(faces), "--attrs",
            str(tmp_path / "attrs.csv"), "--out", str(tmp_path / "bias.md"), "--json", str(tmp_path / "bias.json"),
            "--device", "cpu"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "real faces: 12 labelled faces" in out and "| Male |" in out
    report = json.loads((tmp_path / "bias.json").read_text())
    assert len(report["rows"]) == 40 and all(0 <= r["generated"] <= 1 for r in report["rows"])
    male = next(r for r in report["rows"] if r["attribute"] == "Male")
    assert math.isclose(male["real_labels"], 4 / 12)  # rows i with (i + 20) % 3 == 0
    assert (tmp_path / "bias.md").read_text().count("\n") == 18 + 2  # the 18 listed attributes + header


def test_bad_arguments_get_one_line(tmp_path, capsys):
    assert main(["bias", "--n", "10"]) == 2
    assert "--n" in capsys.readouterr().err
    assert main(["bias", "--data", str(tmp_path)]) == 2
    assert "--data and --attrs go together" in capsys.readouterr().err
