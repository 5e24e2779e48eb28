"""How a generator's faces are spread over CelebA's attributes, against its training data: ``facegan bias``.

The same instrument measures both sides: the attribute classifier scores ``n`` generated faces and the
labelled real faces, and an attribute counts as present when its probability is above 0.5. The report gives
per attribute:

- ``generated``: the share of generated faces the classifier calls positive;
- ``real (classifier)``: the share of real faces it calls positive; ``generated - real`` is the generator's
  gap, read with one instrument, so the classifier's own tendencies cancel to first order;
- ``real (labels)``: the share the labels give; ``real (classifier) - real (labels)`` is the classifier's own
  bias on real faces, the part of a raw "generated vs labels" comparison that is not the generator's.

Each share comes with a 95 % Wilson interval; a gap counts as significant when the two intervals do not
overlap (conservative). With no labelled faces, only the generated shares are reported (:func:`bias_report`
measures both sides and makes the rows). CelebA's labels are
themselves noisy human judgements (Attractive, Young, ...), and a 64 px face carries little of some
(Earrings, Necklace): the table is a map of where to look, not a verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from facegan.data.labels import load_labelled
from facegan.errors import FaceganError
from facegan.latent import render, sample_latents, z_to_codes

Z95 = 1.959964  # the normal quantile of a two-sided 95 % interval
REPORTED = ("Male", "Young", "Pale_Skin", "Eyeglasses", "Smiling", "Black_Hair", "Blond_Hair", "Brown_Hair",
            "Gray_Hair", "Bald", "Wearing_Hat", "Heavy_Makeup", "Wearing_Lipstick", "No_Beard", "Mustache",
            "Bangs", "Attractive", "Chubby")  # the attributes the shipped cards list (all 40 are computed)


@dataclass(frozen=True)
class Share:
    positives: int
    count: int

    @property
    def value(self) -> float:
        return self.positives / self.count if self.count else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson's 95 % score interval (sound near 0 and 1, unlike value +- 1.96 SE)."""
        n, p = self.count, self.value
        if not n:
            return float("nan"), float("nan")
        centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)


def positive_shares(probabilities: torch.Tensor, names: tuple[str, ...]) -> dict[str, Share]:
    """Probabilities (N, A) -> per attribute, how many of the N are above 0.5."""
    positives = (probabilities > 0.5).sum(dim=0)
    return {name: Share(int(positives[i]), len(probabilities)) for i, name in enumerate(names)}


def label_shares(labels: torch.Tensor, names: tuple[str, ...]) -> dict[str, Share]:
    """Labels (N, A) in {0, 1} -> per attribute, how many are 1."""
    return {name: Share(int(labels[:, i].sum()), len(labels)) for i, name in enumerate(names)}


@torch.no_grad()
def generated_probabilities(generator: torch.nn.Module, classifier: torch.nn.Module, n: int,
                            seed: int = 0) -> torch.Tensor:
    """The classifier's probabilities (n, A) for faces ``seed``'s z draws (truncation 1: the generator's own
    distribution, not the cleaner centre that truncation picks)."""
    from facegan.editing.attribute_classifier import predict, resize_for_attribute_classifier

    codes = z_to_codes(generator, sample_latents(n, generator.latent_dim, seed))
    return torch.cat([predict(classifier, resize_for_attribute_classifier(render(generator, chunk)))
                      for chunk in codes.split(1024)])


@dataclass(frozen=True)
class BiasReport:
    """What :func:`bias_report` measured."""
    rows: list[dict]  # one per attribute, from bias_rows
    real_source: str | None  # the labelled real faces measured (None: generated faces only)


def bias_report(generator: torch.nn.Module, classifier_path: str, n: int, seed: int, device: torch.device,
                data: str | None = None, attrs: str | None = None) -> BiasReport:
    """Score ``n`` of the generator's faces (``seed``'s z) with the attribute classifier in ``classifier_path``
    and, given a folder of real faces and their labels (``data``, ``attrs``), the real faces too."""
    from facegan.editing.attribute_classifier import load_classifier

    classifier, names, info = load_classifier(classifier_path, device)
    generated = positive_shares(generated_probabilities(generator, classifier, n, seed), names)
    real_predicted = real_labels = real_source = None
    if data:
        real_predicted, real_labels, real_source = real_shares(classifier, names, data, attrs)
    return BiasReport(bias_rows(generated, real_predicted, real_labels, info.get("held_out")), real_source)


def real_shares(classifier: torch.nn.Module, names: tuple[str, ...], data: str,
                attrs: str) -> tuple[dict[str, Share], dict[str, Share], str]:
    """Labelled real faces (a folder, their label file) -> per attribute of the classifier's ``names``, the share
    the classifier calls positive and the share the labels give; and the faces' source."""
    from facegan.editing.attribute_classifier import CLASSIFIER_SIDE, predict

    real = load_labelled(data, attrs, size=CLASSIFIER_SIDE)
    missing = [name for name in names if name not in real.names]
    if missing:
        raise FaceganError(f"{attrs} has no labels for {', '.join(missing[:3])}: it needs CelebA's 40 attributes")
    order = [real.names.index(name) for name in names]  # the label columns in the classifier's order
    return (positive_shares(predict(classifier, real.images), names), label_shares(real.labels[:, order], names),
            real.source)


def overlaps(a: Share, b: Share) -> bool:
    (a0, a1), (b0, b1) = a.interval, b.interval
    return a0 <= b1 and b0 <= a1


def bias_rows(generated: dict[str, Share], real_predicted: dict[str, Share] | None = None,
              real_labels: dict[str, Share] | None = None, held_out: dict | None = None) -> list[dict]:
    """One row per attribute: the shares, the generator's gap (generated - real, same classifier), the
    classifier's own bias (its real share - the labels'), whether the gap is significant, and the
    classifier's held-out balanced accuracy for the attribute when known."""
    rows = []
    for name, share in generated.items():
        row = {"attribute": name, "generated": share.value, "generated_ci": share.interval, "n": share.count}
        if real_predicted is not None:
            real = real_predicted[name]
            row.update(real_classifier=real.value, real_classifier_ci=real.interval, gap=share.value - real.value,
                       significant=not overlaps(share, real), n_real=real.count)
        if real_labels is not None:
            row.update(real_labels=real_labels[name].value, real_labels_ci=real_labels[name].interval)
            if real_predicted is not None:
                row["classifier_bias"] = real_predicted[name].value - real_labels[name].value
        if held_out and name in held_out:
            row["classifier_balanced_accuracy"] = held_out[name].get("balanced_accuracy")
        rows.append(row)
    return rows


def markdown_table(rows: list[dict], only: tuple[str, ...] | None = REPORTED) -> str:
    """The report as a markdown table (the attributes in ``only``, all if None), largest gap first."""
    chosen = [r for r in rows if only is None or r["attribute"] in only]
    chosen.sort(key=lambda r: -abs(r.get("gap", 0.0)))
    has_real, has_labels = "gap" in (chosen[0] if chosen else {}), "real_labels" in (chosen[0] if chosen else {})
    head = ["attribute", "generated"] + (["real (classifier)", "gap"] if has_real else []) \
        + (["real (labels)", "classifier's bias"] if has_labels and has_real else []) + ["classifier bal. acc."]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in chosen:
        cells = [r["attribute"], _share(r["generated"], r["generated_ci"])]
        if has_real:
            cells += [_share(r["real_classifier"], r["real_classifier_ci"]),
                      f"{100 * r['gap']:+.1f}{' *' if r['significant'] else ''}"]
        if has_labels and has_real:
            cells += [_share(r["real_labels"], r["real_labels_ci"]), f"{100 * r['classifier_bias']:+.1f}"]
        accuracy = r.get("classifier_balanced_accuracy")
        cells.append(f"{accuracy:.2f}" if accuracy is not None else "?")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _share(value: float, interval: tuple[float, float]) -> str:
    return f"{100 * value:.1f} [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"
