"""StyleGAN3's fast path (issue 39): the same images as NVIDIA's reference ops, without the inserted zeros.

``facegan.models.resample.upfirdn2d_fast`` must equal the reference ``upfirdn2d`` for every argument the
reference takes (up, down, padding of either sign, 1-D and 2-D filters, flipped or not), and
``filtered_lrelu_fast`` the reference ``filtered_lrelu`` for every layer geometry of NVIDIA's released
networks (T and R, 256 and 1024 px: the same sizes, filters, paddings and up/down factors, fewer channels),
in bands as small as one output row. Whole generators: max abs difference <= 1e-4 on images in [-1, 1]
(issue 39's bound; NVIDIA-written fixtures: tests/test_import_stylegan3.py).
"""
import itertools
import platform

import pytest
import torch

from facegan.cli import main
from facegan.interop.export import export_generator, load_generator
from facegan.latent import generate_chunks, sample
from facegan.models.resample import downsample_cropped, upfirdn2d_fast, upsample_uncropped
from facegan.models.stylegan2.layers import upfirdn2d
from facegan.models.stylegan3 import networks as sg3
from facegan.models.stylegan3.networks import Generator, filtered_lrelu, filtered_lrelu_fast

FAST_TOLERANCE = 1e-4  # on images in [-1, 1]
# released geometries (NVIDIA's train.py: T 256 channel_base 16384, T 1024 32768, R doubles it) with the channel
# counts cut to at most `channel_max`: the resampling does not depend on how many channels there are
GEOMETRIES = {"T-256": (256, dict(channel_base=16384, channel_max=2)),
              "R-256": (256, dict(channel_base=32768, channel_max=2, conv_kernel=1, use_radial_filters=True)),
              "T-1024": (1024, dict(channel_base=32768, channel_max=2)),
              "R-1024": (1024, dict(channel_base=65536, channel_max=2, conv_kernel=1, use_radial_filters=True))}


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("up,down", [(1, 1), (2, 1), (4, 1), (1, 2), (2, 2), (4, 2)])
def test_upfirdn2d_fast_equals_the_reference(up, down):
    gen = torch.Generator().manual_seed(up * 10 + down)
    cases = itertools.product([1, 4, 6, 12], [(0, 0, 0, 0), (5, 4, 5, 4), (11, 10, 3, 2), (-2, 1, 0, -3)],
                              [False, True], [False, True])
    tried = 0
    for taps, padding, flip, two_d in cases:
        x = torch.randn(2, 3, 17, 13, generator=gen)
        f = torch.randn((taps, taps) if two_d else (taps,), generator=gen)
        want = upfirdn2d(x, f, up=up, down=down, padding=list(padding), flip_filter=flip, gain=up * up)
        if min(want.shape[2:]) <= 0:
            continue
        got = upfirdn2d_fast(x, f, up=up, down=down, padding=list(padding), flip_filter=flip, gain=up * up)
        assert got.shape == want.shape, (taps, padding, flip, two_d)
        assert relative_difference(got, want) < 1e-5, (taps, padding, flip, two_d)
        tried += 1
    assert tried >= 40


@pytest.mark.parametrize("up", [2, 4])
def test_an_uncropped_upsampling_then_a_cropping_downsampling_equal_the_reference_pair(up):
    """The fast path keeps the margin the padding crops and lets the downsampling skip it (no copy of the
    largest map): the pair must equal the reference's, for paddings that crop and that add zeros."""
    gen = torch.Generator().manual_seed(up)
    tried = 0
    for padding, two_d in itertools.product([(9, 8, 9, 8), (11, 10, 3, 2), (-2, 1, 0, -3), (30, 29, 27, 25)],
                                            [False, True]):
        x = torch.randn(2, 3, 17, 13, generator=gen)
        fu = torch.randn(6 * up, generator=gen)
        fd = torch.randn((12, 12) if two_d else (12,), generator=gen)
        want = upfirdn2d(upfirdn2d(x, fu, up=up, padding=list(padding), gain=up * up), fd, down=2, gain=2.0)
        high, crop = upsample_uncropped(x, fu, up, list(padding), gain=up * up)
        assert min(crop) >= 0
        got = downsample_cropped(high, fd, 2, crop, gain=2.0)
        assert got.shape == want.shape and relative_difference(got, want) < 1e-5, (padding, two_d)
        tried += 1
    assert tried == 8


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
def test_filtered_lrelu_fast_equals_the_reference_on_every_released_layer(geometry):
    resolution, kwargs = GEOMETRIES[geometry]
    net = sg3.SynthesisNetwork(8, resolution, 3, **kwargs)
    gen = torch.Generator().manual_seed(0)
    for name in net.layer_names:
        layer = getattr(net, name)
        side = layer.in_size + layer.conv_kernel - 1  # the modulated convolution's output
        x = torch.randn(1, layer.out_channels, side, side, generator=gen) * 3
        gain, slope = (1, 1) if layer.is_torgb else (2 ** 0.5, 0.2)
        args = (x, layer.up_filter, layer.down_filter, torch.randn(layer.out_channels, generator=gen),
                layer.up_factor, layer.down_factor, layer.padding, gain, slope, layer.conv_clamp)
        want = filtered_lrelu(*args)
        assert want.shape[2:] == (layer.out_size, layer.out_size)
        # one band for the whole map, and bands of a few rows (overlapping by the filters' reach)
        for band_bytes in (1 << 40, 1 << 18):
            got = filtered_lrelu_fast(*args, band_bytes=band_bytes)
            assert got.shape == want.shape and relative_difference(got, want) < 2e-6, (name, band_bytes)


@pytest.mark.parametrize("variant", ["T", "R"])
def test_a_released_shape_generator_draws_the_same_faces_either_way(variant, monkeypatch):
    """256 px at the released geometry; small bands so that every layer is drawn in several."""
    resolution, kwargs = GEOMETRIES[f"{variant}-256"]
    monkeypatch.setattr(sg3, "FAST_BAND_BYTES", 1 << 18)
    torch.manual_seed(0)
    G = Generator(16, 16, resolution, 3, **{**kwargs, "channel_max": 8}).eval()
    z = torch.randn(2, 16)
    images = {}
    for exact in (True, False):
        G.exact = exact
        with torch.no_grad(), G.transformed(rotate=20, translate=(0.1, -0.2)):
            images[exact] = (G(z, truncation_psi=0.7), G(z))
    assert not G.exact  # the default is the fast path
    for fast, reference in zip(images[False], images[True]):
        assert reference.abs().max() > 0.01  # not a blank image compared with a blank image
        assert (fast - reference).abs().max().item() <= FAST_TOLERANCE


def test_exact_flag_reaches_the_generator(tmp_path, capsys):
    torch.manual_seed(0)
    G = Generator(8, 8, 16, 3, channel_base=256, channel_max=8, num_layers=4).eval()
    export_generator(G, tmp_path / "g.safetensors", half=False)
    assert load_generator(tmp_path / "g.safetensors").exact is False
    assert load_generator(tmp_path / "g.safetensors", exact=True).exact is True
    for flags in ([], ["--exact"]):
        out = tmp_path / f"s{len(flags)}"
        assert main(["sample", "--generator", str(tmp_path / "g.safetensors"), "--n", "3", "--separate", str(out),
                     *flags]) == 0
    capsys.readouterr()
    import numpy as np
    from PIL import Image
    for i in range(3):
        a, b = (np.asarray(Image.open(tmp_path / d / f"face_{i:04d}.png"), dtype=int) for d in ("s0", "s1"))
        assert np.abs(a - b).max() <= 1  # the two paths round to the same 8-bit pixels (at most one level off)


def test_sample_streams_chunks_and_numbers_files_across_them(tmp_path, capsys, monkeypatch):
    """An HD model draws one face per chunk (PIXELS_PER_BATCH): files are written chunk by chunk, numbered
    on, and the grid is filled as uint8, so memory holds one chunk of floats whatever --n is."""
    import facegan.latent as latent
    monkeypatch.setattr(latent, "PIXELS_PER_BATCH", 2 * 16 * 16)  # two 16 px faces per chunk
    torch.manual_seed(0)
    G = Generator(8, 8, 16, 3, channel_base=256, channel_max=8, num_layers=4).eval()
    export_generator(G, tmp_path / "g.safetensors", half=False)
    chunks = list(generate_chunks(load_generator(tmp_path / "g.safetensors"), torch.randn(5, 8)))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert main(["sample", "--generator", str(tmp_path / "g.safetensors"), "--n", "5", "--separate",
                 str(tmp_path / "faces")]) == 0
    assert sorted(p.name for p in (tmp_path / "faces").iterdir()) == [f"face_{i:04d}.png" for i in range(5)]
    assert main(["sample", "--generator", str(tmp_path / "g.safetensors"), "--n", "5", "--nrow", "5",
                 "--out", str(tmp_path / "grid.png")]) == 0
    assert "wrote 5 faces" in capsys.readouterr().out
    from PIL import Image
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (5 * 18 + 2, 18 + 2)
    # the streamed faces are the faces sample() draws in one go
    from facegan.viz import grid_image
    G = load_generator(tmp_path / "g.safetensors")
    assert grid.tobytes() == grid_image(sample(G, 5, 0), nrow=5).tobytes()


def test_the_fast_path_is_differentiable_like_the_reference():
    """Projecting a photo differentiates through the generator: both paths give the same gradient."""
    torch.manual_seed(0)
    G = Generator(8, 8, 32, 3, channel_base=512, channel_max=8, num_layers=6).eval()
    ws = G.mapping(torch.randn(2, 8), 0.7).detach()
    grads = {}
    for exact in (True, False):
        G.exact = exact
        w = ws.clone().requires_grad_(True)
        G.synthesis(w).square().mean().backward()
        grads[exact] = w.grad
    assert grads[True].abs().max() > 0
    assert relative_difference(grads[False], grads[True]) < 1e-4


def _faults_remaking(nbytes: int) -> int:
    """Minor page faults of making (and filling) a map of 15/16 nbytes after one of nbytes was freed (a band
    of a layer after the one before; a little smaller, as glibc's aligned allocations need a few bytes more
    than a freed block of exactly their size)."""
    import resource

    torch.ones(nbytes // 4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(nbytes // 4 * 15 // 16)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_drawing_reuses_freed_memory_instead_of_faulting_fresh_pages_in():
    """Inside reuse_freed_memory a large map made again reuses the freed one's pages (no page faults); outside,
    glibc hands a 64 MB block back to the kernel and faults 16,384 new pages in. Not on glibc: a no-op."""
    from facegan.models import heap

    nbytes = 64 << 20
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        assert heap._glibc is None
        with heap.reuse_freed_memory():
            assert not heap.active()
        return
    assert heap._glibc is not None, "glibc found by platform but not by facegan.models.heap"
    pages = nbytes * 15 // 16 // resource_page_size()
    assert _faults_remaking(nbytes) > pages // 2, "outside the context a freed 64 MB block should go back to the kernel"
    with heap.reuse_freed_memory():
        with heap.reuse_freed_memory():  # nested (the app's threads): the inner exit keeps the setting
            assert heap.active()
        assert heap.active()
        assert _faults_remaking(nbytes) < pages // 16, "inside the context the freed block should be reused"
    assert not heap.active()
    assert _faults_remaking(nbytes) > pages // 2, "after the context, blocks above 32 MB should come from the kernel again"


def resource_page_size() -> int:
    import os

    return os.sysconf("SC_PAGE_SIZE")
