import pytest
import torch

from facegan.models.dcgan import Discriminator, Generator, scaled_channels
from facegan.models.summary import count_parameters


def test_generator_shapes_and_range():
    G = Generator(latent_dim=32, width=0.25).eval()
    for z in (torch.randn(5, 32), torch.randn(5, 32, 1, 1)):
        out = G(z)
        assert out.shape == (5, 3, 64, 64)
        assert out.min() >= -1 and out.max() <= 1


def test_generator_rejects_wrong_latent_size():
    with pytest.raises(ValueError, match=r"\(N, 32\)"):
        Generator(latent_dim=32)(torch.randn(2, 31))


def test_discriminator_returns_logits_of_shape_n111():
    D = Discriminator(width=0.25)
    logits = D(torch.randn(6, 3, 64, 64))
    assert logits.shape == (6, 1, 1, 1)
    # logits, not probabilities: a sigmoid output could never leave (0, 1)
    D.net[-1].weight.data.fill_(1.0)
    assert D(torch.randn(6, 3, 64, 64)).abs().max() > 1


def test_paper_architecture_channels_and_size():
    assert scaled_channels(1.0) == [64, 128, 256, 512]
    G, D = Generator(256, 1.0), Discriminator(1.0)
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    bns = [m for m in D.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert [b.num_features for b in bns] == [128, 256, 512]  # none on the first block
    deconvs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in deconvs] == [512, 256, 128, 64, 3]
    assert count_parameters(G) > count_parameters(Generator(256, 0.5)) > 0


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    w = Discriminator(1.0).net[2].weight  # 128 x 64 x 4 x 4 conv
    assert abs(w.mean().item()) < 2e-3 and abs(w.std().item() - 0.02) < 1e-3
