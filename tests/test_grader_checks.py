"""tests.py (the graders' checks) must catch real mistakes, each with a message saying what was wrong."""
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tests as graders  # noqa: E402  (the repository's tests.py)
from facegan.data.images import FaceDataset, load_synthetic  # noqa: E402
from facegan.models.dcgan import Discriminator, Generator  # noqa: E402


class ListDataset(torch.utils.data.Dataset):
    def __init__(self, items, expected_length=None):
        self.items = items
        if expected_length is not None:
            self.expected_length = expected_length

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def good_items(n=10):
    return [torch.rand(3, 64, 64) * 2 - 1 for _ in range(n)]


def test_a_correct_dataset_passes(capsys):
    graders.check_dataset_outputs(ListDataset(good_items(), expected_length=10))
    graders.check_dataset_outputs(FaceDataset(load_synthetic(12, progress=False).images))
    assert capsys.readouterr().out.count("check_dataset_outputs: passed") == 2


@pytest.mark.parametrize("dataset, message", [
    (ListDataset(good_items()), "should contain 32,600 images, but len(dataset) is 10"),
    (ListDataset(good_items(), expected_length=12), "should contain 12 images"),
    (ListDataset([torch.rand(3, 32, 32) * 2 - 1] * 10, 10), "should have shape [3, 64, 64] (channels first, 64x64), got [3, 32, 32]"),
    (ListDataset([torch.rand(64, 64, 3) * 2 - 1] * 10, 10), "got [64, 64, 3]"),
    (ListDataset([torch.rand(3, 64, 64)] * 10, 10), "are the images still in [0, 1]?"),
    (ListDataset([torch.rand(3, 64, 64) * 255] * 10, 10), "values should lie in [-1, 1], got"),
    (ListDataset([torch.full((3, 64, 64), float("nan"))] * 10, 10), "contains NaN or infinite values"),
    (ListDataset([torch.zeros(3, 64, 64, dtype=torch.uint8)] * 10, 10), "should be a float tensor, got torch.uint8"),
    (ListDataset([None] * 10, 10), "should be a torch.Tensor, got a NoneType"),
])
def test_broken_datasets_fail_with_a_clear_message(dataset, message):
    with pytest.raises(AssertionError) as failure:
        graders.check_dataset_outputs(dataset)
    assert message in str(failure.value)


def test_a_dataset_with_an_unreadable_image_fails_its_declared_length():
    images = load_synthetic(12, progress=False).images
    with pytest.raises(AssertionError, match="should contain 13 images, but len"):
        graders.check_dataset_outputs(FaceDataset(images, expected_length=13))


class Probabilities(nn.Module):  # a discriminator that flattens its output
    def __init__(self):
        super().__init__()
        self.d = Discriminator(0.125)

    def forward(self, x):
        return self.d(x).view(-1)


class NaNDiscriminator(Discriminator):
    def forward(self, x):
        return super().forward(x) * float("nan")


def test_discriminator_checks():
    graders.check_discriminator(Discriminator(0.125))
    with pytest.raises(AssertionError, match=r"scores of shape \[1, 1, 1, 1\], got \[1\]"):
        graders.check_discriminator(Probabilities())
    with pytest.raises(AssertionError, match="NaN or infinite scores"):
        graders.check_discriminator(NaNDiscriminator(0.125))


class IgnoresZ(Generator):
    def forward(self, z):
        return super().forward(torch.zeros_like(z))


def generator_without_tanh() -> Generator:
    G = Generator(16, 0.125)
    G.net = G.net[:-1]  # forgot the final Tanh
    nn.init.normal_(G.net[-1].weight, 0.0, 1000.0)  # untrained outputs are tiny; make them large
    return G


class Small(Generator):
    def forward(self, z):
        return super().forward(z)[:, :, ::2, ::2]


def test_generator_checks():
    graders.check_generator(Generator(16, 0.125), 16)
    with pytest.raises(AssertionError, match="different latent vectors should give different images"):
        graders.check_generator(IgnoresZ(16, 0.125), 16)
    with pytest.raises(AssertionError, match=r"should lie in \[-1, 1\] \(end with tanh\)"):
        graders.check_generator(generator_without_tanh(), 16)
    with pytest.raises(AssertionError, match=r"image of shape \[1, 3, 64, 64\], got \[1, 3, 32, 32\]"):
        graders.check_generator(Small(16, 0.125), 16)


def test_python_tests_py_passes_on_facegans_own_models(tmp_path):
    import os
    import subprocess

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(root / "tests.py")], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": passed") == 3


class LayersInAList(nn.Module):
    """A classic mistake: layers kept in a plain Python list are not registered, so the module has no
    parameters (nothing to train) although its forward works."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


@pytest.mark.parametrize("check, module, args", [
    (graders.check_generator, LayersInAList(nn.ConvTranspose2d(16, 3, 64), nn.Tanh()), (16,)),
    (graders.check_discriminator, LayersInAList(nn.Conv2d(3, 1, 64)), ()),
])
def test_a_module_without_parameters_fails_with_a_sentence_not_a_bare_stopiteration(check, module, args):
    """The checks find the device from the first parameter: with none, a grader must still get a message."""
    with pytest.raises(AssertionError, match=r"has no parameters .* not in a plain Python list"):
        check(module, *args)
