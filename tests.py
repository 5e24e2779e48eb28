"""The graders' checks for the face-generation project (classic signatures).

From the notebook::

    import tests
    tests.check_dataset_outputs(dataset)
    tests.check_discriminator(discriminator)
    tests.check_generator(generator, latent_dim)

Each check prints one line when it passes and raises AssertionError saying what was expected and
what was got when it fails. ``python tests.py`` runs them on facegan's own dataset and models and
exits non-zero on any failure; ``pytest tests.py`` collects the same checks.
"""
from __future__ import annotations

import sys

import torch

CELEBA_SMALL_SIZE = 32_600  # images in the Udacity processed_celeba_small/celeba subset
_SAMPLES = 8  # random indices / batch size the checks look at


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {list(x.shape)}"
    return f"a {type(x).__name__}"


def _device_of(module: torch.nn.Module, role: str) -> torch.device:
    """Where ``module``'s weights are, so the check's inputs go there too; a clear failure if it has none."""
    parameter = next(module.parameters(), None)
    assert parameter is not None, (
        f"the {role} has no parameters (list({role}.parameters()) is empty): keep its layers in attributes, "
        "nn.Sequential or nn.ModuleList, not in a plain Python list, so that they are registered and trained")
    return parameter.device


def check_dataset_outputs(dataset) -> None:
    """Length, and for random items: a float tensor [3, 64, 64] with finite values in [-1, 1].

    The expected length is the dataset's own ``expected_length`` when it declares one (facegan's
    FaceDataset does: the number of images its source lists), else the CelebA subset's 32,600.
    """
    expected = getattr(dataset, "expected_length", CELEBA_SMALL_SIZE)
    assert len(dataset) == expected, (
        f"the dataset should contain {expected:,} images, but len(dataset) is {len(dataset):,}")
    generator = torch.Generator().manual_seed(0)
    indices = torch.randint(len(dataset), (_SAMPLES,), generator=generator).tolist()
    for index in indices:
        image = dataset[index]
        assert isinstance(image, torch.Tensor), f"dataset[{index}] should be a torch.Tensor, got {_describe(image)}"
        assert image.shape == (3, 64, 64), (
            f"dataset[{index}] should have shape [3, 64, 64] (channels first, 64x64), got {list(image.shape)}")
        assert image.is_floating_point(), f"dataset[{index}] should be a float tensor, got {image.dtype}"
        assert torch.isfinite(image).all(), f"dataset[{index}] contains NaN or infinite values"
        lo, hi = image.min().item(), image.max().item()
        assert lo >= -1 and hi <= 1, f"dataset[{index}] values should lie in [-1, 1], got [{lo:.3f}, {hi:.3f}]"
        assert lo < -0.05, (f"dataset[{index}] values should span [-1, 1] (scaled from [0, 1] with x * 2 - 1), "
                            f"but the smallest is {lo:.3f}: are the images still in [0, 1]?")
    print(f"check_dataset_outputs: passed ({len(dataset):,} images; items are float [3, 64, 64] in [-1, 1])")


@torch.no_grad()
def check_discriminator(discriminator: torch.nn.Module) -> None:
    """(1, 3, 64, 64) -> one score of shape (1, 1, 1, 1); batches > 1 likewise; finite."""
    device = _device_of(discriminator, "discriminator")
    for batch in (1, _SAMPLES):
        images = torch.rand(batch, 3, 64, 64, device=device) * 2 - 1
        score = discriminator(images)
        assert isinstance(score, torch.Tensor), f"the discriminator should return a tensor, got {_describe(score)}"
        assert score.shape == (batch, 1, 1, 1), (
            f"the discriminator should map a batch of shape {[batch, 3, 64, 64]} to scores of shape "
            f"{[batch, 1, 1, 1]}, got {list(score.shape)}")
        assert torch.isfinite(score).all(), "the discriminator returned NaN or infinite scores"
    print("check_discriminator: passed (N x 3 x 64 x 64 -> N x 1 x 1 x 1 scores)")


@torch.no_grad()
def check_generator(generator: torch.nn.Module, latent_dim: int) -> None:
    """(1, latent_dim, 1, 1) -> (1, 3, 64, 64) in [-1, 1]; batches > 1; different z, different images."""
    device = _device_of(generator, "generator")
    was_training = generator.training
    generator.eval()  # a BatchNorm generator cannot take a batch of 1 in training mode
    try:
        z = torch.randn(1, latent_dim, 1, 1, device=device, generator=torch.Generator(device).manual_seed(0))
        image = generator(z)
        assert isinstance(image, torch.Tensor), f"the generator should return a tensor, got {_describe(image)}"
        assert image.shape == (1, 3, 64, 64), (
            f"the generator should map z of shape [1, {latent_dim}, 1, 1] to an image of shape [1, 3, 64, 64], "
            f"got {list(image.shape)}")
        zs = torch.randn(_SAMPLES, latent_dim, 1, 1, device=device, generator=torch.Generator(device).manual_seed(1))
        images = generator(zs)
        assert images.shape == (_SAMPLES, 3, 64, 64), (
            f"a batch of {_SAMPLES} latents should give [{_SAMPLES}, 3, 64, 64], got {list(images.shape)}")
        assert torch.isfinite(images).all(), "the generator produced NaN or infinite values"
        lo, hi = images.min().item(), images.max().item()
        assert lo >= -1 and hi <= 1, (
            f"generated values should lie in [-1, 1] (end with tanh), got [{lo:.3f}, {hi:.3f}]")
        # Relative to the output's own scale: an untrained generator's outputs can be tiny.
        scale = images.abs().max().item() + 1e-12
        spread = (images - images[:1]).abs().flatten(1).amax(1)[1:].min().item() / scale
        assert spread > 1e-3, ("different latent vectors should give different images, but two of the "
                               f"{_SAMPLES} images are nearly identical (relative difference {spread:.2g}): "
                               "does the generator use z?")
    finally:
        generator.train(was_training)
    print(f"check_generator: passed ([N, {latent_dim}, 1, 1] -> [N, 3, 64, 64] in [-1, 1], depends on z)")


# ------------------------------------------------------------------ `python tests.py` / `pytest tests.py`
def _own_dataset():
    from facegan.data import DEFAULT_CELEBA_DIR
    from facegan.data.images import load_dataset

    return load_dataset(DEFAULT_CELEBA_DIR, synthetic_count=2_000, progress=False)


def test_facegan_dataset():
    check_dataset_outputs(_own_dataset())


def test_facegan_discriminator():
    from facegan.models.dcgan import Discriminator

    check_discriminator(Discriminator())


def test_facegan_generator():
    from facegan.models.dcgan import Generator

    check_generator(Generator(latent_dim=256), 256)


if __name__ == "__main__":
    failures = 0
    for check in (test_facegan_dataset, test_facegan_discriminator, test_facegan_generator):
        try:
            check()
        except AssertionError as e:
            failures += 1
            print(f"{check.__name__}: FAILED: {e}")
    sys.exit(1 if failures else 0)
