"""A trained attribute classifier as its users need it (directions, projection, the bias report, the app,
scoring): its file, the 64x64 faces it reads and the probabilities it gives.

The file is fp16 safetensors (a few MB) whose metadata holds the attribute names, the architecture and
what it was trained on; :mod:`facegan.editing.attribute_training` writes it.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from facegan.data.images import to_unit_range
from facegan.errors import FaceganError
from facegan.fileio import atomic_path, load_module_state, read_tagged_safetensors
from facegan.models.classifiers.attributes import AttributeClassifier

CLASSIFIER_FORMAT = "facegan-attribute-classifier"
CLASSIFIER_SIDE = 64  # the attribute classifier sees 64x64 faces; larger generators are downsampled


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


def resize_for_attribute_classifier(images: torch.Tensor) -> torch.Tensor:
    """(N, C, R, R) in [-1, 1] -> (N, C, 64, 64): what the attribute classifier was trained on."""
    if images.shape[-1] == CLASSIFIER_SIDE:
        return images
    return F.interpolate(images, size=(CLASSIFIER_SIDE, CLASSIFIER_SIDE), mode="area")


@torch.no_grad()
def predict(model: AttributeClassifier, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """uint8 (N, C, R, R) or float in [-1, 1] -> probabilities (N, A), in eval mode."""
    model.eval()
    out = []
    for chunk in images.split(batch_size):
        x = to_unit_range(chunk) if chunk.dtype == torch.uint8 else chunk.float()
        out.append(torch.sigmoid(model(x.to(next(model.parameters()).device))).cpu())
    return torch.cat(out)
