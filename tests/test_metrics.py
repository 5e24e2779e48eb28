"""Metrics must separate real from broken image sets, and FID must match its formula."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facegan.data.images import load_synthetic, to_unit_range
from facegan.errors import FaceganError
from facegan.evaluation import metrics as M
from facegan.models.contract import GeneratorBase


@pytest.fixture(scope="module")
def real_sets():
    images = load_synthetic(256, progress=False).images
    return images[:128], images[128:]


def blurred(images):
    x = images.float()
    k = torch.ones(3, 1, 5, 5) / 25
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k, groups=3).round().clamp(0, 255).to(torch.uint8)


def colour_shifted(images):
    return (images.float() + torch.tensor([60.0, -40.0, 20.0])[:, None, None]).clamp(0, 255).to(torch.uint8)


def noise(n, seed=0):
    return torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_swd_of_a_set_against_itself_is_about_zero(real_sets):
    a, _ = real_sets
    result = M.swd(a, a.clone())
    assert set(result) == {"swd64", "swd32", "swd16", "swd_avg", "swd_images"}
    assert result["swd_avg"] < 1e-3  # x1e3


def test_swd_ranks_real_below_broken_sets(real_sets):
    a, b = real_sets
    real_real = M.swd(a, b)["swd_avg"]
    assert real_real * 5 < M.swd(a, noise(len(a)))["swd_avg"]
    assert real_real < M.swd(a, blurred(b))["swd_avg"]
    assert real_real < M.swd(a, colour_shifted(b))["swd_avg"]


def test_swd_needs_equal_counts(real_sets):
    a, b = real_sets
    with pytest.raises(ValueError, match="equal numbers"):
        M.swd(a, b[:10])


def test_laplacian_pyramid_reconstructs_the_image(real_sets):
    x = real_sets[0][:4].float()
    band64, band32, low16 = M.laplacian_pyramid(x)
    assert band64.shape[-1] == 64 and band32.shape[-1] == 32 and low16.shape[-1] == 16
    rebuilt = band64 + M._pyr_up(band32 + M._pyr_up(low16))
    assert torch.allclose(rebuilt, x, atol=1e-3)


def test_msssim_is_one_for_identical_images_and_low_for_noise(real_sets):
    a, _ = real_sets
    collapsed = a[:1].repeat(64, 1, 1, 1)
    assert M.msssim_diversity(collapsed, pairs=100) == pytest.approx(1.0, abs=1e-4)
    noisy = M.msssim_diversity(noise(64), pairs=100)
    real = M.msssim_diversity(a, pairs=200)
    assert noisy < 0.1 and noisy < real / 2 and real < 0.9


def test_ms_ssim_of_a_pair_is_symmetric_and_drops_with_distortion(real_sets):
    a = real_sets[0][:8]
    assert torch.allclose(M.ms_ssim(a, blurred(a)), M.ms_ssim(blurred(a), a), atol=1e-5)
    assert (M.ms_ssim(a, blurred(a)) < M.ms_ssim(a, a)).all()


class RandomFeatures(torch.nn.Module):
    """A fixed random projection of pooled pixels: a stand-in feature network (N, 3, 64, 64) -> (N, 16)."""
    num_features = 16

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3 * 8 * 8, 16)
        torch.nn.init.normal_(self.proj.weight, generator=torch.Generator().manual_seed(0))

    def forward(self, x):
        return self.proj(F.adaptive_avg_pool2d(x, 8).flatten(1))


def direct_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """The textbook Frechet distance, via scipy's matrix square root."""
    from scipy import linalg

    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_the_direct_fid_reference_is_right_on_known_gaussians():
    """The reference below is only as good as its formula: check it on Gaussians whose FID is known in
    closed form: |0.5|^2 * 4 + 4 * (1 + 4 - 2 * 2) = 5."""
    rng = np.random.default_rng(0)
    f1 = rng.normal(0.0, 1.0, size=(2000, 4))
    f2 = rng.normal(0.5, 2.0, size=(2000, 4))
    assert direct_fid(f1, f2) == pytest.approx(5.0, rel=0.1)


def test_fid_kid_equals_a_direct_fid_on_its_custom_features(real_sets):
    """facegan's fid_kid (images -> [-1, 1] floats -> feature network, in chunks, both sets) must give
    the textbook FID of those features: guards the scaling fed to the network, the chunking (batch=50
    splits 128 images unevenly) and which features land in which set."""
    a, b = real_sets
    fake = colour_shifted(b)
    net = RandomFeatures()
    result = M.fid_kid(fake, a, feature=net, batch=50, kid_subset_size=64)
    with torch.no_grad():
        f_real, f_fake = (net(x.float() / 127.5 - 1).double().numpy() for x in (a, fake))
    expected = direct_fid(f_real, f_fake)
    assert expected > 1  # the sets differ: a zero FID would not test much
    assert result["fid"] == pytest.approx(expected, rel=1e-3)
    assert result["fid_images"] == len(fake)


def test_fid_kid_with_a_custom_feature_network_separates_sets(real_sets):
    a, b = real_sets
    same = M.fid_kid(a, b, feature=RandomFeatures(), kid_subset_size=64)
    broken = M.fid_kid(noise(len(a)), b, feature=RandomFeatures(), kid_subset_size=64)
    assert set(same) >= {"fid", "kid", "kid_std"}
    assert same["fid"] < broken["fid"] and same["kid"] < broken["kid"]


def test_custom_feature_network_without_num_features_is_a_clear_error(real_sets):
    with pytest.raises(FaceganError, match="num_features"):
        M.fid_kid(real_sets[0], real_sets[1], feature=torch.nn.Flatten())


def test_offline_inception_is_one_clear_line_and_touches_no_network(real_sets, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("the inception path must not open a connection")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(FaceganError) as failure:
        M.fid_kid(real_sets[0], real_sets[1])
    message = str(failure.value)
    assert "\n" not in message and "facegan download inception" in message


def test_eval_cli_prints_a_table_and_appends_to_the_runs_metrics(tiny_config, capsys):
    import json

    from facegan.cli import main
    from facegan.training.loop import train

    run = train(tiny_config(), progress=False)
    capsys.readouterr()
    assert main(["eval", "--generator", str(run / "generator.safetensors"), "--n", "32", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "swd_avg" in out and "msssim_real" in out and "metrics.jsonl" in out
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["n"] == 32 and record["swd_images"] == 32 and record["swd_avg"] > 0
    assert main(["eval", "--generator", str(run / "generator.safetensors"), "--metrics", "swd,nope"]) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err


def test_training_with_metrics_logs_them_and_plots_a_third_panel(tiny_config):
    import json

    from facegan.training.loop import train
    from facegan.training.state import latest_state

    run = train(tiny_config(epochs=2, metrics_every=1, metrics_samples=32), progress=False)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2] and all(r["swd_avg"] > 0 for r in lines)
    assert latest_state(run)["metric_history"] == lines
    from PIL import Image

    assert Image.open(run / "losses.png").width == 1500  # three 5-inch panels at 100 dpi


class Replay(GeneratorBase):
    """A generator that learned the data perfectly: it returns held-out real faces (the first len(z) of
    them), or with collapse=True the first one for every z (mode collapse)."""
    latent_dim, resolution, channels = 16, 64, 3

    def __init__(self, images, collapse=False):
        super().__init__()
        self.faces = torch.nn.Parameter(to_unit_range(images), requires_grad=False)
        self.collapse = collapse

    def forward(self, z):
        return self.faces[:1].expand(len(z), -1, -1, -1) if self.collapse else self.faces[:len(z)]


def test_evaluate_puts_held_out_faces_at_the_real_floor_and_an_untrained_generator_far_above(real_sets):
    """Through evaluate() (seeded z, generate, uint8, SWD, MS-SSIM): a generator that reproduces held-out
    real faces must score exactly the SWD of held-out vs real faces, an untrained one far more; MS-SSIM
    must call the held-out faces as diverse as the real ones and a collapsed generator ~1.
    (Training one briefly is no substitute: after 5 epochs most of its SWD drop comes from BatchNorm's
    running statistics, and remains when G's optimiser never steps.)"""
    from facegan.evaluation.evaluate import evaluate
    from facegan.models.dcgan import Generator

    real, held_out = real_sets
    floor = M.swd(held_out, real)["swd_avg"]
    perfect = evaluate(Replay(held_out), real, n=128, pairs=200)
    torch.manual_seed(0)
    untrained = evaluate(Generator(16, 0.125), real, n=128, metrics=("swd",))
    collapsed = evaluate(Replay(held_out, collapse=True), real, n=128, metrics=("msssim",), pairs=200)
    assert perfect["swd_avg"] == pytest.approx(floor) and untrained["swd_avg"] > 5 * floor
    assert perfect["msssim"] == pytest.approx(perfect["msssim_real"], abs=0.1) and perfect["msssim"] < 0.9
    assert collapsed["msssim"] > 0.99


def test_training_with_fid_but_no_inception_weights_stops_before_training(tiny_config):
    from facegan.training.loop import train

    cfg = tiny_config(metrics_every=1, metrics="swd,fid")
    with pytest.raises(FaceganError, match="facegan download inception"):
        train(cfg, progress=False)
    assert not (Path(cfg.runs_dir)).exists()  # nothing was created
