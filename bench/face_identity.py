"""A face-identity embedding that runs offline, for the edit-quality report: dlib's 128-d ResNet
(from the `face-recognition-models` and `dlib-bin` packages: pip install -r bench/requirements-edit.txt).
dlib calls two faces the same person below a distance of 0.6 (on 150 px aligned chips).

Run as a script, it first checks that the embedding still separates people at 64x64: on the labelled
real faces (CelebA identities), distances of same-person pairs against different-person pairs
(ROC AUC, and the accuracy at dlib's 0.6 threshold), for two ways of making dlib's 150 px chip:
"resize" (the whole 64 px crop, upscaled) and "landmarks" (5-point alignment inside it).

    python bench/face_identity.py --data /tmp/facegan-attrs --labels ../shared/data/faces64_attrs.csv
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
from pathlib import Path

import lib
import numpy as np
from PIL import Image

CHIP = 150  # dlib's face chip side


class IdentityEmbedding:
    def __init__(self, mode: str = "landmarks"):
        import importlib.util

        spec = importlib.util.find_spec("face_recognition_models")
        try:
            import dlib
        except ImportError:
            spec = None
        if spec is None:
            raise SystemExit("needs dlib and the face models: pip install -r bench/requirements-edit.txt")
        # the package's own locator imports pkg_resources (gone from new setuptools): find the files directly
        models = Path(spec.submodule_search_locations[0]) / "models"
        self.dlib, self.mode = dlib, mode
        self.net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
        self.landmarks = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, 3) face crops -> (N, 128) embeddings."""
        out = []
        for image in images:
            big = np.asarray(Image.fromarray(image).resize((CHIP, CHIP), Image.BICUBIC))
            if self.mode == "resize":
                out.append(np.array(self.net.compute_face_descriptor(big)))
            else:
                box = self.dlib.rectangle(0, 0, CHIP - 1, CHIP - 1)
                out.append(np.array(self.net.compute_face_descriptor(big, self.landmarks(big, box))))
        return np.stack(out)


def torch_to_uint8(images) -> np.ndarray:
    """facegan images (N, 3, H, W) in [-1, 1] (a torch tensor) -> uint8 (N, H, W, 3)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def _auc(same: np.ndarray, different: np.ndarray) -> float:
    """P(a same-person distance < a different-person distance), ties counted half (= ROC AUC)."""
    values = np.concatenate([same, different])
    ranks = values.argsort().argsort() + 1
    return float((ranks[len(same):].sum() - len(different) * (len(different) + 1) / 2) / (len(same) * len(different)))


def check(data: Path, labels: Path, people: int, seed: int) -> dict:
    rows = list(csv.DictReader(open(labels)))
    by_person: dict[str, list[str]] = {}
    for row in rows:
        by_person.setdefault(row["celeba_identity"], []).append(row["member"])
    rng = random.Random(seed)
    repeated = [p for p, files in by_person.items() if len(files) >= 2]
    chosen = rng.sample(repeated, min(people, len(repeated)))
    files = sorted({f for p in chosen for f in by_person[p]})
    images = np.stack([np.asarray(Image.open(data / f).convert("RGB")) for f in files])
    index = {f: i for i, f in enumerate(files)}
    same_pairs = [(index[a], index[b]) for p in chosen for a, b in itertools.combinations(by_person[p], 2)]
    person_of = {index[f]: p for p in chosen for f in by_person[p]}
    different_pairs = []
    while len(different_pairs) < 4 * len(same_pairs):
        a, b = rng.randrange(len(files)), rng.randrange(len(files))
        if person_of[a] != person_of[b]:
            different_pairs.append((a, b))
    result = {"people": len(chosen), "images": len(files), "same_pairs": len(same_pairs),
              "different_pairs": len(different_pairs)}
    for mode in ("resize", "landmarks"):
        e = IdentityEmbedding(mode)(images)
        same = np.array([np.linalg.norm(e[a] - e[b]) for a, b in same_pairs])
        different = np.array([np.linalg.norm(e[a] - e[b]) for a, b in different_pairs])
        accuracy = ((same < 0.6).mean() + (different >= 0.6).mean()) / 2
        result[mode] = {"auc": round(_auc(same, different), 4), "balanced_accuracy_at_0.6": round(float(accuracy), 4),
                        "median_same": round(float(np.median(same)), 4),
                        "median_different": round(float(np.median(different)), 4)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/facegan-attrs"), help="folder the CSV's members are in")
    parser.add_argument("--labels", type=Path, default=Path("../shared/data/faces64_attrs.csv"))
    parser.add_argument("--people", type=int, default=300, help="identities with 2+ images sampled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="append the result to this JSONL (with lib.record's provenance)")
    args = parser.parse_args()
    result = check(args.data, args.labels, args.people, args.seed)
    print(json.dumps(result, indent=1))
    if args.json:
        lib.record(args.json, {"bench": "face_identity_check", **result}, jsonl=True)


if __name__ == "__main__":
    main()
