"""The projected discriminator's own settings (torch-free: the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass

from facegan.errors import FaceganError, require_int_at_least
from facegan.options import ArchConfig, option


@dataclass
class ProjectedConfig(ArchConfig):
    proj_side: int = option(64, "projected D: side the images are resized to before the pretrained network "
                            "(Projected GAN: 224; at 64 a CPU step is 3x cheaper than at 128, 12x than at 224)")
    proj_scales: int = option(3, "projected D: feature maps tapped from EfficientNet-Lite0, finest first "
                              "(strides 4, 8, 16, 32; Projected GAN: 4; at 64 px the fourth is 2x2)")
    proj_channels: int = option(64, "projected D: channels of the finest mixed feature map, doubling per coarser "
                                "scale (Projected GAN: 64)")
    proj_head_channels: int = option(64, "projected D: channels of each scale's trainable head")

    def validate(self) -> None:
        require_int_at_least("proj_side", self.proj_side, 32)
        if not 1 <= self.proj_scales <= 4:
            raise FaceganError(f"proj_scales must be 1 to 4 (EfficientNet-Lite0 has four taps; got {self.proj_scales})")
        require_int_at_least("proj_channels", self.proj_channels)
        require_int_at_least("proj_head_channels", self.proj_head_channels)
