"""ProGAN's own settings (torch-free: the CLI builds its flags from them). How it grows (from which
resolution, how many images per fade-in and stabilise phase) is the trainer's schedule: --grow-from,
--fade-kimg, --stable-kimg."""
from __future__ import annotations

from dataclasses import dataclass

from facegan.errors import require_int_at_least
from facegan.options import ArchConfig, option


@dataclass
class ProGANConfig(ArchConfig):
    GROWS = True
    fmap_base: int = option(2048, "progan: feature maps of side s have min(fmap_base * 4 // s / 2, fmap_max) "
                            "channels, as the paper's nf(stage) = fmap_base / 2^stage (official 8192)")
    fmap_max: int = option(256, "progan: the most channels of any layer (official 512)")

    def validate(self) -> None:
        require_int_at_least("fmap_base", self.fmap_base, minimum=2)
        require_int_at_least("fmap_max", self.fmap_max)
