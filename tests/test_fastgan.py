"""FastGAN's generator: shapes at every side, skip-layer excitation really gates the fine maps, training
with its native or the projected D, and the export rebuilds it through the registry."""
from __future__ import annotations

import pytest
import torch

from facegan.config import build_config
from facegan.errors import FaceganError
from facegan.interop.export import load_generator
from facegan.models import build_models
from facegan.models.fastgan.networks import Generator
from facegan.training.loop import train


@pytest.mark.parametrize("side", [16, 32, 64, 128])
def test_fastgan_draws_images_in_range_at_each_side(side):
    G = Generator(latent_dim=8, width=4, resolution=side).eval()
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, side, side) and x.abs().max() <= 1
    assert set(G.sle) == {str(s) for s in (4, 8, 16) if 8 * s <= side}  # 4 gates 32, 8 gates 64, 16 gates 128


def test_skip_layer_excitation_gates_the_fine_map_from_the_coarse_one():
    """Zeroing the gate's last conv makes every gate sigmoid(0) = 1/2: the fine map is then halved."""
    G = Generator(latent_dim=8, width=4, resolution=32).eval()
    sle = G.sle["4"]
    small, big = torch.randn(2, 64, 4, 4), torch.randn(2, 8, 32, 32)
    gates = sle(small, big) / big
    assert gates.min() > 0 and gates.max() < 1 and gates.std() > 0  # per image and channel
    torch.nn.init.zeros_(sle.net[3].weight)
    assert torch.allclose(sle(small, big), big / 2)


def test_fastgan_trains_with_the_projected_d_and_its_export_loads(tiny_config):
    run = train(tiny_config(name="fg", arch="fastgan", fastgan_width=4, fastgan_d_width=0.125, disc="projected",
                            loss="hinge", proj_channels=8, proj_head_channels=8), progress=False)
    G = load_generator(run)
    assert isinstance(G, Generator) and G.arch() == {"arch": "fastgan", "latent_dim": 16, "width": 4,
                                                     "resolution": 64, "channels": 3}
    assert G(torch.randn(2, 16)).shape == (2, 3, 64, 64)


def test_bad_fastgan_settings_are_one_line():
    with pytest.raises(FaceganError, match="fastgan_width must be a positive integer"):
        build_config("quick", {"arch": "fastgan", "fastgan_width": 0})
    with pytest.raises(FaceganError, match="from 16 to 1024"):
        build_models(build_config("quick", {"arch": "fastgan", "resolution": 8}), 3, 8)
