"""The declared network contract (facegan/models/contract.py) against what the networks do.

Every registered architecture's G and D (built tiny through the registry), a StyleGAN3 rebuilt from an
export's metadata, what each importer makes of its files and the projected discriminators derive from the
contract's bases; each flag a network sets holds, and a feature it leaves off is absent. So a caller that
asks ``is_style(G)`` (or any other predicate) instead of probing attributes gets the truth, and a new
architecture that forgets a flag fails here. The attribute checks below are the only feature probes
facegan has: they test the declarations.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from official_format import dumps, official_snapshot
from test_import_stylegan2 import fixture_generator, save_rosinality

from facegan.errors import FaceganError
from facegan.interop.stylegan import official_generator, official_stylegan3_generator, rosinality_generator
from facegan.latent import transformed
from facegan.models import ARCHITECTURES, build_models, config_class, generator_from_meta
from facegan.models.contract import (DiscriminatorBase, GeneratorBase, can_transform, draws_random, grows,
                                     has_fast_path, is_style, set_random_stream)
from facegan.models.stylegan3.networks import Generator as StyleGAN3

FIXTURES = Path(__file__).parent / "fixtures" / "stylegan3"
ARCH_KEYS = {"arch", "latent_dim", "channels", "resolution"}  # what generator_from_meta needs of every arch()
SIZES = {"dcgan": {"resolution": 16}, "mlp": {"resolution": 16, "mlp_hidden": "16,32"},
         "stylegan2": {"resolution": 16, "w_dim": 8, "channel_base": 64, "channel_max": 8},
         "progan": {"resolution": 16, "fmap_base": 64, "fmap_max": 8},
         "fastgan": {"resolution": 16, "fastgan_width": 4, "fastgan_d_width": 0.125}}  # tiny settings per arch
PROJECTED = {"proj_side": 32, "proj_channels": 8}  # the smallest projected D the default 4 scales allow


def latents(generator: GeneratorBase, n: int = 2) -> torch.Tensor:
    return torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(0))  # (n, latent_dim)


# ----------------------------------------------------------------------------- the checks, one per flag
def check_generator(G: GeneratorBase) -> torch.Tensor:
    """The base contract: z (N, latent_dim) -> (N, C, R, R) in eval mode, rebuilt from its arch(); returns
    the images of ``latents(G)``."""
    assert isinstance(G, GeneratorBase), type(G)
    meta = G.arch()
    assert ARCH_KEYS <= set(meta), sorted(ARCH_KEYS - set(meta))
    rebuilt = generator_from_meta(meta)
    assert type(rebuilt) is type(G) and rebuilt.arch() == meta
    assert list(rebuilt.state_dict()) == list(G.state_dict())
    with torch.no_grad():
        images = G.eval()(latents(G))
    assert images.shape == (2, G.channels, G.resolution, G.resolution) and images.isfinite().all()
    if not is_style(G):  # style generators are unclamped, as NVIDIA's are (about [-1, 1])
        assert images.abs().max() <= 1
    return images


def check_style(G: GeneratorBase, images: torch.Tensor) -> None:
    """STYLE: mapping z -> ws (N, num_ws, w_dim), synthesis ws -> the same images as G(z)."""
    assert hasattr(G, "mapping") == hasattr(G, "synthesis") == is_style(G)
    if is_style(G):
        with torch.no_grad():
            ws = G.mapping(latents(G), update_w_avg=False)
            assert ws.shape == (2, G.num_ws, G.w_dim)
            assert torch.allclose(G.synthesis(ws), images, atol=1e-5)


def check_transform(G: GeneratorBase, images: torch.Tensor) -> None:
    """CAN_TRANSFORM: ``transformed`` turns the faces and restores them; the other generators refuse."""
    assert hasattr(G, "transformed") == can_transform(G)
    if not can_transform(G):
        with pytest.raises(FaceganError, match="rotate and translate"):
            transformed(G, 90.0)
        return
    with torch.no_grad():
        with transformed(G, 90.0):
            turned = G(latents(G))
        assert not torch.allclose(turned, images, atol=1e-3)
        assert torch.equal(G(latents(G)), images)  # the transform is undone


def check_fast_path(G: GeneratorBase, images: torch.Tensor) -> None:
    """HAS_FAST_PATH: ``exact`` switches to the reference ops, whose images equal the fast path's to 1e-4."""
    assert hasattr(G, "exact") == has_fast_path(G)
    if has_fast_path(G):
        was = G.exact
        G.exact = not was
        with torch.no_grad():
            other = G(latents(G))
        G.exact = was
        assert (other - images).abs().max() <= 1e-4


def check_random_stream(net: GeneratorBase | DiscriminatorBase, x: torch.Tensor) -> None:
    """DRAWS_RANDOM: in training mode the net draws from the stream the trainer sets and nothing from torch's
    global one; a net that does not declare it draws nothing at all."""
    net.train()
    stream = torch.Generator().manual_seed(1)
    set_random_stream(net, stream)
    start, global_start = stream.get_state(), torch.get_rng_state()
    with torch.no_grad():
        net(x)
    assert torch.equal(torch.get_rng_state(), global_start), "drew from torch's global stream"
    assert torch.equal(stream.get_state(), start) != draws_random(net)
    set_random_stream(net, None)


def check_growing(G: GeneratorBase, D: DiscriminatorBase) -> None:
    """GROWS: both networks follow the schedule (here: 8 px, half faded in); the config says so too."""
    assert hasattr(G, "set_phase") == grows(G) and hasattr(D, "set_phase") == grows(D)
    assert grows(G) == grows(D) == config_class(G.arch()["arch"]).GROWS
    if grows(G):
        G.train().set_phase(8, 0.5)
        D.train().set_phase(8, 0.5)
        with torch.no_grad():
            small = G(latents(G))  # training mode: the phase's side, what D is trained against
            assert small.shape[-2:] == (8, 8) and D(small).shape[0] == 2
        G.set_phase(G.resolution, 1.0)
        D.set_phase(G.resolution, 1.0)


def check_discriminator(D: DiscriminatorBase, images: torch.Tensor) -> None:
    """Logits, one or more per image: (N, 1), (N, 1, 1, 1) or (N, K)."""
    assert isinstance(D, DiscriminatorBase), type(D)
    with torch.no_grad():
        logits = D.eval()(images)
    assert logits.shape[0] == len(images) and (logits.ndim == 2 or logits.shape[1:] == (1, 1, 1)), logits.shape
    assert logits.isfinite().all()


def check_declarations(G: GeneratorBase) -> None:
    images = check_generator(G)
    check_style(G, images)
    check_transform(G, images)
    check_fast_path(G, images)
    check_random_stream(G, latents(G))


# ----------------------------------------------------------------------------- what the checks run on
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_registered_architecture_declares_what_it_does(arch, tiny_config):
    torch.manual_seed(0)
    G, D = build_models(tiny_config(arch=arch, **SIZES[arch]), 3, SIZES[arch]["resolution"])
    check_declarations(G)
    images = G.eval()(latents(G)).detach()
    check_discriminator(D, images)
    check_random_stream(D, images)
    check_growing(G, D)


@pytest.mark.parametrize("disc, native", [("projected", "dcgan"), ("native+projected", "dcgan"),
                                          ("native+projected", "mlp")])  # an MLP D draws dropout masks
def test_the_projected_discriminators_declare_what_they_do(disc, native, tiny_config):
    torch.manual_seed(0)
    G, D = build_models(tiny_config(arch=native, disc=disc, **SIZES[native], **PROJECTED), 3, 16)
    images = G.eval()(latents(G)).detach()
    check_discriminator(D, images)
    check_random_stream(D, images)
    assert not grows(D)


def test_a_stylegan3_rebuilt_from_its_metadata_declares_what_it_does():
    torch.manual_seed(0)
    built = StyleGAN3(8, 8, 16, 3, channel_base=256, channel_max=16, num_layers=4, conv_kernel=1,
                      use_radial_filters=True)
    check_declarations(generator_from_meta(built.arch()))


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, GeneratorBase]:
    """What each importer makes of its kind of file (tests/official_format.py writes the StyleGAN2 ones)."""
    folder = tmp_path_factory.mktemp("imports")
    snapshot = folder / "network-snapshot.pkl"
    snapshot.write_bytes(dumps(official_snapshot(fixture_generator())))
    rosinality = save_rosinality(folder / "550000.pt", fixture_generator(conv_clamp=None))
    return {"stylegan2 pickle": official_generator(snapshot)[0],
            "stylegan3 repo's stylegan2 pickle": official_generator(FIXTURES / "stylegan2-from-stylegan3-repo-p3.pkl")[0],
            "rosinality checkpoint": rosinality_generator(rosinality)[0],
            "stylegan3 pickle": official_stylegan3_generator(FIXTURES / "stylegan3-t16-p4.pkl")[0]}


@pytest.mark.parametrize("kind", ["stylegan2 pickle", "stylegan3 repo's stylegan2 pickle", "rosinality checkpoint",
                                  "stylegan3 pickle"])
def test_every_importers_output_declares_what_it_does(imported, kind):
    check_declarations(imported[kind])
