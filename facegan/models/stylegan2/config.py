"""StyleGAN2's own settings (torch-free: the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass

from facegan.errors import FaceganError, require_int_at_least
from facegan.options import ArchConfig, option, require_probability

MBSTD_GROUP = 4  # the discriminator's minibatch standard deviation compares groups of 4 images
STYLE_BLOCKS = ("modulated", "adain")  # StyleGAN2's weight demodulation; StyleGAN 1's AdaIN (instance norm)


@dataclass
class StyleGAN2Config(ArchConfig):
    w_dim: int = option(256, "stylegan2: size of the intermediate latent w (official 512)")
    channel_base: int = option(4096, "stylegan2: feature maps of side s have min(channel_base // s, channel_max) "
                               "channels (official 32768; its 64 px recipe 16384)")
    channel_max: int = option(512, "stylegan2: the most channels of any layer (official 512)")
    mapping_layers: int = option(2, "stylegan2: fully connected layers of the mapping network z -> w "
                                 "(official: 2 in its 64 px recipe, 8 for FFHQ)")
    style_mixing: float = option(0.9, "stylegan2: probability that a training batch takes its styles from a second "
                                 "z from a random layer on (mixing regularisation; official 0.9, 0 = off)")
    style_block: str = option("modulated", "stylegan2: how w styles each synthesis layer: modulated (StyleGAN2's "
                              "weight demodulation) or adain (StyleGAN 1's noise, bias, lrelu, instance norm, "
                              "x * (1 + scale) + bias; its recipe also used --mapping-layers 8)", STYLE_BLOCKS)

    def validate(self) -> None:
        for name in ("w_dim", "channel_base", "channel_max", "mapping_layers"):
            require_int_at_least(name, getattr(self, name))
        require_probability("style_mixing", self.style_mixing)

    def check_training(self, batch_size: int) -> None:
        group = min(MBSTD_GROUP, batch_size)
        if batch_size % group:
            raise FaceganError(f"stylegan2's discriminator compares images in groups of {group} (minibatch standard "
                               f"deviation): batch_size must be a multiple of {group} (got {batch_size})")
