"""NVIDIA's pre-trained StyleGAN2 and StyleGAN3 face generators that ``facegan download`` fetches and imports.

Torch-free (the CLI lists the names before importing anything heavy). The URLs are the ones NVIDIA's
stylegan2-ada-pytorch repository names (its README's data repository table, and ``train.py``'s
``--resume`` shortcuts for the transfer-learning source networks) and the stylegan3 repository's README
(NVIDIA's NGC catalogue; "u" models were trained on the unaligned FFHQ-U / MetFaces-U). NVIDIA publishes no file sizes or
checksums for them: ``size`` and ``sha256`` are None until someone records them, and then a download
that differs is refused. The weights come from NVIDIA under its licences (:data:`LICENCES`, by import kind).
"""
from __future__ import annotations

from dataclasses import dataclass

CDN = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/"
NGC = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/"
LICENCE = ("NVIDIA Source Code License for StyleGAN2-ADA (non-commercial: research or evaluation only), "
           "https://nvlabs.github.io/stylegan2-ada-pytorch/license.html")
LICENCE_SG3 = ("NVIDIA Source Code License for StyleGAN3 (non-commercial: research or evaluation only), "
               "https://github.com/NVlabs/stylegan3/blob/main/LICENSE.txt")
LICENCES = {"stylegan2": LICENCE, "stylegan3": LICENCE_SG3}  # the weights' licence by import kind
IMPORT_KINDS = ("stylegan2", "stylegan3", "rosinality")  # facegan import KIND FILE


@dataclass(frozen=True)
class Pretrained:
    url: str
    resolution: int
    what: str  # one line for --help and the README
    size: int | None = None  # bytes, when known: a download of another size is refused
    sha256: str | None = None
    kind: str = "stylegan2"  # the import kind that reads it

    @property
    def licence(self) -> str:
        return LICENCES[self.kind]

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


def _stylegan3(config: str, data: str, resolution: int, what: str) -> Pretrained:
    return Pretrained(f"{NGC}stylegan3-{config}-{data}-{resolution}x{resolution}.pkl", resolution,
                      f"{what}, {resolution}x{resolution}, StyleGAN3-{config.upper()} ("
                      + ("translation equivariant)" if config == "t" else "translation and rotation equivariant)"),
                      kind="stylegan3")


PRETRAINED.update({
    f"stylegan3-{config}-{data}-{res}": _stylegan3(config, data, res, what)
    for config, data, res, what in [
        ("t", "ffhq", 1024, "FFHQ faces"), ("t", "ffhqu", 1024, "FFHQ-U faces (unaligned)"),
        ("t", "ffhqu", 256, "FFHQ-U faces (unaligned)"), ("r", "ffhq", 1024, "FFHQ faces"),
        ("r", "ffhqu", 1024, "FFHQ-U faces (unaligned)"), ("r", "ffhqu", 256, "FFHQ-U faces (unaligned)"),
        ("t", "metfaces", 1024, "MetFaces (faces in art)"), ("t", "metfacesu", 1024, "MetFaces-U (unaligned)"),
        ("r", "metfaces", 1024, "MetFaces (faces in art)"), ("r", "metfacesu", 1024, "MetFaces-U (unaligned)")]})
