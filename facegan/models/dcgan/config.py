"""The DCGAN's own settings (torch-free: the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass

from facegan.options import ArchConfig, option, require_positive

UPSAMPLES = ("transpose", "resize")


@dataclass
class DCGANConfig(ArchConfig):
    width: float = option(1.0, "dcgan: channel multiplier; 1.0 is the paper DCGAN (64..512 channels)")
    upsample: str = option("transpose", "dcgan: how G doubles the image side: the paper's transposed conv, or "
                           "resize = nearest upsampling + 3x3 conv (no checkerboard)", UPSAMPLES)

    def validate(self) -> None:
        require_positive(self, "width")
