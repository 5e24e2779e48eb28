"""The FastGAN generator's own settings (torch-free: the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass

from facegan.errors import require_int_at_least
from facegan.options import ArchConfig, option, require_positive


@dataclass
class FastGANConfig(ArchConfig):
    fastgan_width: int = option(16, "fastgan: G's base channels (FastGAN's ngf, 64 in the paper): a map of side s has "
                                "width x {4: 16, 8: 8, 16: 4, 32: 2, 64: 2} channels")
    fastgan_d_width: float = option(0.25, "fastgan: width of its native D (the DCGAN discriminator at this channel "
                                    "multiplier; FastGAN's own D adds reconstruction decoders, left out here)")

    def validate(self) -> None:
        require_int_at_least("fastgan_width", self.fastgan_width)
        require_positive(self, "fastgan_d_width")
