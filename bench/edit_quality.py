"""Edit quality of a generator's directions: for each attribute, plain and conditional, at each strength,

- flip rate: share of faces whose attribute a *second* classifier (another seed and split than the one
  the directions were fitted to) sees flipped by the edit; each face is pushed towards the side it is
  not on (older if young, younger if old), so the rate is over every face;
- attribute dependency: mean |change| of the second classifier's probability for the other 39
  attributes, and for the attributes the conditional direction keeps (the other three edited here);
- identity drift: dlib face-embedding distance between a face and its edit (dlib: < 0.6 = same person;
  see bench/face_identity.py for how well that holds at 64x64), mean and share above 0.6;
- realism: SWD x1e3 of the edited faces against the unedited ones.

Conditional = orthogonal to the other edited attributes' directions (age keeps gender, smile and
glasses, and so on). Writes a JSONL, prints a markdown table and plots flip rate against identity drift.

    pip install -r bench/requirements-edit.txt
    python bench/edit_quality.py --generator models/celeba64.safetensors --classifier2 /tmp/attrs_seed1.safetensors \
        --json bench/results/edit_quality_cpu2b.jsonl --plot assets/edit_quality.png
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import lib  # first: this checkout's facegan
import numpy as np
import torch
from face_identity import IdentityEmbedding, torch_to_uint8  # bench/face_identity.py

from facegan.data.images import to_uint8
from facegan.editing.attribute_classifier import load_classifier, predict, resize_for_attribute_classifier
from facegan.editing.directions import directions_path, edit_codes, load_directions
from facegan.editing.names import FRIENDLY_NAMES
from facegan.evaluation.metrics import swd
from facegan.fileio import export_path
from facegan.interop.export import load_generator
from facegan.latent import codes_for_seeds, render


def measure(G, directions, classifier, names, embed, name: str, strength: float, conditions: list[str],
            codes, before, p_before, e_before) -> dict:
    attr, sign = FRIENDLY_NAMES[name]
    a = names.index(attr)
    present = p_before[:, a] >= 0.5  # (N,) the attribute as the second classifier sees it
    toward = torch.where(present, -1.0, 1.0) * sign  # push each face to the other side (in friendly units)
    edited = torch.cat([edit_codes(codes[i:i + 1], directions, {name: float(toward[i]) * strength}, conditions)
                        for i in range(len(codes))])
    after = render(G, edited)
    p_after = predict(classifier, resize_for_attribute_classifier(after))
    flipped = ((p_after[:, a] >= 0.5) != present).float().mean()
    others = [i for i in range(len(names)) if i != a]
    kept = [names.index(FRIENDLY_NAMES[c][0]) for c in ("age", "gender", "smile", "glasses") if c != name]
    drift = np.linalg.norm(embed(torch_to_uint8(after)) - e_before, axis=1)
    realism = swd(to_uint8(after), to_uint8(before))["swd_avg"]
    return {"attribute": name, "strength": strength, "conditional": bool(conditions),
            "flip_rate": round(float(flipped), 4),
            "other_attributes_change": round(float((p_after[:, others] - p_before[:, others]).abs().mean()), 4),
            "kept_attributes_change": round(float((p_after[:, kept] - p_before[:, kept]).abs().mean()), 4),
            "identity_distance": round(float(drift.mean()), 4), "identity_lost": round(float((drift >= 0.6).mean()), 4),
            "swd_vs_unedited": round(realism, 2), "faces": len(codes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", required=True)
    parser.add_argument("--directions", help="default: beside the generator")
    parser.add_argument("--classifier2", required=True, help="a classifier trained with another seed and split")
    parser.add_argument("--attributes", default="age,gender,smile,glasses")
    parser.add_argument("--strengths", default="1,2,3")
    parser.add_argument("--n", type=int, default=500, help="faces per measurement")
    parser.add_argument("--first-seed", type=int, default=100_000, help="faces are these seeds on (not the fit's)")
    parser.add_argument("--json", type=Path, help="append one JSON line per row (with lib.record's provenance)")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()

    generator = export_path(args.generator)
    G = load_generator(generator)
    directions = load_directions(args.directions or directions_path(generator), G)
    classifier, names, info = load_classifier(args.classifier2)
    embed = IdentityEmbedding("landmarks")  # separates people better at 64 px (bench/face_identity.py)
    attributes = args.attributes.split(",")
    codes = codes_for_seeds(G, range(args.first_seed, args.first_seed + args.n))
    before = render(G, codes)
    p_before = predict(classifier, resize_for_attribute_classifier(before))
    e_before = embed(torch_to_uint8(before))
    rows = []
    for name in attributes:
        conditions = [other for other in attributes if other != name]
        for conditional in (False, True):
            for strength in map(float, args.strengths.split(",")):
                row = measure(G, directions, classifier, names, embed, name, strength,
                              conditions if conditional else [], codes, before, p_before, e_before)
                print(json.dumps(row), flush=True)
                rows.append(row)
    if args.json:
        lib.record(args.json, [{"bench": "edit_quality", "generator": str(generator),
                                "classifier2": str(args.classifier2), **row} for row in rows], jsonl=True)
    print(table(rows))
    if args.plot:
        plot(rows, args.plot)


def table(rows: list[dict]) -> str:
    lines = ["| edit | strength | directions | flip rate | other 39 attributes, mean abs change | kept 3, mean abs change "
             "| identity distance (share >= 0.6) | SWD vs unedited |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['attribute']} | {r['strength']:g} | {'conditional' if r['conditional'] else 'plain'} "
                     f"| {r['flip_rate']:.2f} | {r['other_attributes_change']:.3f} | {r['kept_attributes_change']:.3f} "
                     f"| {r['identity_distance']:.3f} ({r['identity_lost']:.2f}) | {r['swd_vs_unedited']:.1f} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from facegan.fileio import atomic_path

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colours = dict(zip(dict.fromkeys(r["attribute"] for r in rows), plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (name, conditional), style in [((n, c), "-o" if not c else "--s") for n in colours for c in (False, True)]:
        points = [r for r in rows if r["attribute"] == name and r["conditional"] == conditional]
        ax.plot([r["identity_distance"] for r in points], [r["flip_rate"] for r in points], style,
                color=colours[name], label=f"{name} ({'conditional' if conditional else 'plain'})")
        for r in points:
            ax.annotate(f"{r['strength']:g}", (r["identity_distance"], r["flip_rate"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    ax.axvline(0.6, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("identity distance, edited vs original (dlib; 0.6 = another person)")
    ax.set_ylabel("flip rate (second classifier)")
    ax.set_title("Edit strength 1-3 std: attribute flipped vs identity kept")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
