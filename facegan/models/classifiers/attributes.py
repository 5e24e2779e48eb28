"""A small CNN that predicts face attributes (CelebA's 40 binary ones, or any list) from a face image.

    images (N, C, R, R) in [-1, 1] -> logits (N, num_attributes); sigmoid gives P(attribute present).

Four stride-2 stages (conv 3x3 + BatchNorm + ReLU, twice per stage) halve the side each time; global
average pooling makes it work at any resolution >= 16 (trained at 64 px). ``features`` returns the
pooled (N, 8 * width) vector and ``stage_outputs`` every stage's maps: perceptual features that need no
download (used to compare faces and to project photos).
No I/O here: facegan.editing.attribute_training trains it, facegan.editing.attribute_classifier saves and loads it.
"""
from __future__ import annotations

import torch
from torch import nn


def _stage(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class AttributeClassifier(nn.Module):
    def __init__(self, num_attributes: int = 40, channels: int = 3, width: int = 32, dropout: float = 0.3):
        super().__init__()
        self.num_attributes, self.channels, self.width = num_attributes, channels, width
        sizes = [channels, width, 2 * width, 4 * width, 8 * width]
        # (N, C, 64, 64) -> (N, w, 32, 32) -> (N, 2w, 16, 16) -> (N, 4w, 8, 8) -> (N, 8w, 4, 4)
        self.body = nn.Sequential(*[_stage(a, b) for a, b in zip(sizes, sizes[1:])])
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(8 * width, num_attributes))

    def stage_outputs(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(N, C, R, R) -> the four stages' feature maps, (N, w, R/2, R/2) ... (N, 8w, R/16, R/16)."""
        outputs = []
        for stage in self.body:
            images = stage(images)
            outputs.append(images)
        return outputs

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, R, R) -> (N, 8 * width): the globally pooled last stage."""
        return self.body(images).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

    def arch(self) -> dict:
        return {"arch": "attributes", "num_attributes": self.num_attributes, "channels": self.channels,
                "width": self.width}
