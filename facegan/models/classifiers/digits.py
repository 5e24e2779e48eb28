"""A small CNN that tells the ten digits apart: the judge of whether a digit GAN's samples are
recognisable (and the roadmap's first checkpoint project). No I/O here: facegan.evaluation.digits trains, saves
and loads it.

    images (N, C, 28, 28) in [-1, 1] -> logits (N, 11); softmax gives P(digit = k) for k = 0..9 and, last,
    P(no digit): a class of its own, trained on junk images, so that noise is not called a digit.

A 3x3 convolution (BatchNorm + ReLU) and a 2x2 max-pool (28 -> 14), two more and a max-pool (14 -> 7),
one more, global average pooling and a linear layer: about 33 k parameters at width 16, so it trains
in a minute or two on a CPU and its fp16 file is about 70 kB.
"""
from __future__ import annotations

import torch
from torch import nn

NUM_DIGITS = 10
NO_DIGIT = NUM_DIGITS  # the index of the "no digit" output
NUM_CLASSES = NUM_DIGITS + 1


def _conv(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)]


class DigitClassifier(nn.Module):
    def __init__(self, channels: int = 1, width: int = 16, dropout: float = 0.2):
        super().__init__()
        self.channels, self.width = channels, width
        self.body = nn.Sequential(
            *_conv(channels, width), nn.MaxPool2d(2),  # (N, w, 14, 14)
            *_conv(width, 2 * width), *_conv(2 * width, 2 * width), nn.MaxPool2d(2),  # (N, 2w, 7, 7)
            *_conv(2 * width, 4 * width))  # (N, 4w, 7, 7)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * width, NUM_CLASSES))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images).mean(dim=(2, 3)))  # global average pool: (N, 4w) -> (N, 11)

    def arch(self) -> dict:
        return {"arch": "digits", "channels": self.channels, "width": self.width}
