"""NVIDIA's pre-trained StyleGAN2 face generators that ``facegan download`` fetches and imports.

Torch-free (the CLI lists the names before importing anything heavy). The URLs are the ones NVIDIA's
stylegan2-ada-pytorch repository names (its README's data repository table, and ``train.py``'s
``--resume`` shortcuts for the transfer-learning source networks). NVIDIA publishes no file sizes or
checksums for them: ``size`` and ``sha256`` are None until someone records them, and then a download
that differs is refused. The weights come from NVIDIA under its licence (:data:`LICENCE`).
"""
from __future__ import annotations

from dataclasses import dataclass

CDN = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/"
LICENCE = ("NVIDIA Source Code License for StyleGAN2-ADA (non-commercial: research or evaluation only), "
           "https://nvlabs.github.io/stylegan2-ada-pytorch/license.html")
IMPORT_KINDS = ("stylegan2", "rosinality")  # facegan import KIND FILE


@dataclass(frozen=True)
class Pretrained:
    url: str
    resolution: int
    what: str  # one line for --help and the README
    size: int | None = None  # bytes, when known: a download of another size is refused
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


PRETRAINED = {
    "stylegan2-ffhq": Pretrained(CDN + "ffhq.pkl", 1024, "FFHQ faces, 1024x1024, StyleGAN2 config F "
                                 "(trained with the original TensorFlow StyleGAN2, converted by NVIDIA)"),
    "stylegan2-ffhq-512": Pretrained(CDN + "transfer-learning-source-nets/ffhq-res512-mirror-stylegan2-noaug.pkl",
                                     512, "FFHQ faces, 512x512, StyleGAN2 config F (x-flips, no augmentation)"),
    "stylegan2-ffhq-256": Pretrained(CDN + "transfer-learning-source-nets/ffhq-res256-mirror-paper256-noaug.pkl",
                                     256, "FFHQ faces, 256x256, the ADA paper's 256 px config (x-flips, no "
                                     "augmentation)"),
    "stylegan2-metfaces": Pretrained(CDN + "metfaces.pkl", 1024, "MetFaces (faces in art), 1024x1024, transfer "
                                     "learning from FFHQ with ADA"),
}
