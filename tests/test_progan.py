"""ProGAN and progressive growing: the fade-in maths for G, D and the reals, the schedule, equalised
learning rate, pixel norm, minibatch standard deviation, the drift term, resume in the middle of a fade,
the export at full resolution and the refusals, all tiny on the CPU."""
import math

import pytest
import torch
import torch.nn.functional as F

from facegan.cli import main
from facegan.config import batch_table
from facegan.interop.export import load_generator
from facegan.latent import sample
from facegan.models.growing import fade
from facegan.models.progan import Discriminator, Generator, ProGANConfig
from facegan.models.progan.networks import EqualizedConv2d, EqualizedLinear, minibatch_stddev, pixel_norm
from facegan.training import state as ckpt
from facegan.training.losses import drift_penalty
from facegan.training.loop import resume_config, train
from facegan.training.schedule import GrowthSchedule, Phase, real_at_phase

CFG = ProGANConfig(fmap_base=64, fmap_max=16)


def nets(resolution=16, seed=0):
    torch.manual_seed(seed)
    return Generator(8, resolution, 3, CFG).train(), Discriminator(resolution, 3, CFG)


def perturbed(module):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)


def test_fade_is_exact_at_both_ends():
    old, new = torch.randn(50), torch.randn(50)
    assert torch.equal(fade(old, new, 0.0), old) and torch.equal(fade(old, new, 1.0), new)
    assert torch.allclose(fade(old, new, 0.25), old + 0.25 * (new - old))


def test_generator_at_alpha_0_is_the_previous_side_upsampled_and_at_1_the_new_path_only():
    G, _ = nets()
    z = torch.randn(4, 8)
    G.set_phase(8, 1.0)
    previous = G(z)  # (4, 3, 8, 8)
    G.set_phase(16, 0.0)
    old = G(z)
    assert old.shape == (4, 3, 16, 16) and torch.equal(old, F.interpolate(previous, scale_factor=2, mode="nearest"))
    perturbed(G.blocks["16"]), perturbed(G.to_rgb["16"])
    assert torch.equal(G(z), old)  # the new layers do not count yet
    G.set_phase(16, 1.0)
    new = G(z)
    perturbed(G.to_rgb["8"])
    assert torch.equal(G(z), new) and not torch.equal(new, old)  # the old toRGB no longer counts


def test_discriminator_mirrors_the_fade():
    _, D = nets()
    images = torch.randn(4, 3, 16, 16)
    D.set_phase(8, 1.0)
    previous = D(F.avg_pool2d(images, 2))
    D.set_phase(16, 0.0)
    assert torch.equal(D(images), previous)
    perturbed(D.from_rgb["8"])
    D.set_phase(16, 1.0)
    new = D(images)
    perturbed(D.from_rgb["8"])
    assert torch.equal(D(images), new)


def test_reals_are_faded_like_the_generator_output():
    images = torch.randn(4, 3, 32, 32)
    at16 = F.avg_pool2d(images, 2)
    assert torch.equal(real_at_phase(images, Phase(16, 1.0)), at16)
    coarse = F.interpolate(F.avg_pool2d(at16, 2), scale_factor=2, mode="nearest")
    assert torch.equal(real_at_phase(images, Phase(16, 0.0)), coarse)
    assert torch.allclose(real_at_phase(images, Phase(16, 0.5)), (coarse + at16) / 2, atol=1e-6)


def test_the_schedule_in_images():
    s = GrowthSchedule(4, 32, fade_kimg=2, stable_kimg=1)
    assert s.resolutions == [4, 8, 16, 32] and s.total_kimg() == 4 * 1 + 3 * 2
    expected = {0: Phase(4, 1.0), 999: Phase(4, 1.0), 1000: Phase(8, 0.0), 1500: Phase(8, 0.25),
                2999: Phase(8, 0.9995), 3000: Phase(8, 1.0), 4000: Phase(16, 0.0), 10_000: Phase(32, 1.0),
                10**9: Phase(32, 1.0)}
    assert {n: s.phase_at(n) for n in expected} == expected
    assert GrowthSchedule(64, 64, 5, 5).phase_at(10**6) == Phase(64, 1.0)


def test_the_batch_by_side_table():
    assert batch_table("4:128, 8:128,32:64") == {4: 128, 8: 128, 32: 64} and batch_table("") == {}
    s = GrowthSchedule(4, 32, fade_kimg=2, stable_kimg=1, batch_by_side={4: 128, 16: 64})
    # the table is read at the side of the step's phase; sides it does not list use the run's batch
    assert [s.batch_at(n, 32) for n in (0, 999, 1000, 4000, 10_000)] == [128, 128, 32, 64, 32]


def test_equalised_learning_rate_scales_at_run_time():
    conv = EqualizedConv2d(4, 6, 3)
    x = torch.randn(2, 4, 5, 5)
    expected = F.conv2d(x, conv.weight * math.sqrt(2) / math.sqrt(4 * 9), conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-5)
    assert conv.weight.std().item() == pytest.approx(1.0, abs=0.3)  # N(0, 1) storage
    G, D = nets()
    assert G.dense.scale == pytest.approx(math.sqrt(2) / 4 / math.sqrt(8))  # the first dense layer
    assert G.to_rgb["16"].scale == pytest.approx(1 / math.sqrt(G.to_rgb["16"].weight.shape[1]))  # toRGB gain 1
    assert EqualizedLinear(10, 3, gain=1).scale == pytest.approx(1 / math.sqrt(10))


def test_pixel_norm_and_minibatch_stddev_by_hand():
    x = torch.tensor([[3.0, 4.0]]).reshape(1, 2, 1, 1)
    assert torch.allclose(pixel_norm(x).flatten(), torch.tensor([3.0, 4.0]) / math.sqrt(12.5))
    images = torch.tensor([0.0, 2.0, 4.0, 6.0]).reshape(4, 1, 1, 1).expand(4, 2, 2, 2).contiguous()
    out = minibatch_stddev(images)
    assert out.shape == (4, 3, 2, 2) and torch.equal(out[:, :2], images)
    assert torch.allclose(out[:, 2], torch.full((4, 2, 2), math.sqrt(5.0 + 1e-8)))  # population std of 0,2,4,6
    halves = minibatch_stddev(torch.arange(8.0).reshape(8, 1, 1, 1), group=4)  # groups {0,2,4,6} and {1,3,5,7}
    assert torch.allclose(halves[:, 1].flatten(), torch.full((8,), math.sqrt(5.0 + 1e-8)))


def test_drift_term():
    assert drift_penalty(torch.tensor([[1.0], [2.0], [3.0]])).item() == pytest.approx(14 / 3)


TINY = ["--arch", "progan", "--grow-from", "4", "--fade-kimg", "0.064", "--stable-kimg", "0.032",
        "--data", "synthetic", "--synthetic-count", "64", "--resolution", "16", "--batch-size", "16",
        "--loss", "wgan", "--gp-weight", "10", "--drift-weight", "0.001", "--fmap-base", "64", "--fmap-max", "16",
        "--latent-dim", "8", "--ema-kimg", "0.1", "--augment", "", "--device", "cpu", "--precision", "fp32",
        "--no-progress", "--log-every", "2", "--grid-size", "4", "--minutes", "0", "--preset", "paper",
        "--metrics-every", "0"]


def test_resume_in_the_middle_of_a_fade_is_bitwise_and_the_export_samples_at_full_size(tmp_path):
    """64 images an epoch: epoch 1 ends at 64 images (8 px, alpha 0.5), epoch 3 ends 16 px stable."""
    assert main(["train", *TINY, "--epochs", "3", "--runs-dir", str(tmp_path / "a"), "--name", "straight"]) == 0
    assert main(["train", *TINY, "--epochs", "1", "--runs-dir", str(tmp_path / "b"), "--name", "cut"]) == 0
    cut = next((tmp_path / "b").glob("*-cut"))
    assert ckpt.latest_state(cut)["images_seen"] == 64
    assert GrowthSchedule(4, 16, 0.064, 0.032).phase_at(64) == Phase(8, 0.5)  # mid-fade
    train(resume_config(cut, epochs=3), resume=cut, progress=False)
    straight = next((tmp_path / "a").glob("*-straight"))
    a, b = ckpt.latest_state(straight), ckpt.latest_state(cut)
    for part in ("generator", "discriminator", "generator_ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    G = load_generator(cut)
    assert G.arch()["phase_resolution"] == 16 and G.alpha == pytest.approx(0.75)  # the last step: 176 images in
    faces = sample(G, 3, seed=0)
    assert faces.shape == (3, 3, 16, 16) and faces.abs().max() <= 1
    log = [line for line in (cut / "log.jsonl").read_text().splitlines()]
    assert '"resolution": 8' in log[2] and '"alpha"' in log[2]


def test_a_batch_table_changes_the_batch_with_the_side_and_resumes_bitwise_mid_fade(tmp_path):
    """4 px at 32 images a step, 8 px at 8, 16 px at the run's 16: epoch 1 is one step at 4 px and four at
    8 px (mid-fade at 64 images), epoch 2 eight steps at 8 px, epoch 3 four at 16 px: 17 steps, 192 images."""
    table = ["--batch-by-side", "4:32,8:8"]
    assert main(["train", *TINY, *table, "--epochs", "3", "--runs-dir", str(tmp_path / "a"), "--name", "straight"]) == 0
    assert main(["train", *TINY, *table, "--epochs", "1", "--runs-dir", str(tmp_path / "b"), "--name", "cut"]) == 0
    cut = next((tmp_path / "b").glob("*-cut"))
    first = ckpt.latest_state(cut)
    assert (first["step"], first["images_seen"], first["side"]) == (5, 64, 8)
    train(resume_config(cut, epochs=3), resume=cut, progress=False)
    a, b = ckpt.latest_state(next((tmp_path / "a").glob("*-straight"))), ckpt.latest_state(cut)
    assert (a["step"], a["images_seen"]) == (b["step"], b["images_seen"]) == (17, 192)
    for part in ("generator", "discriminator", "generator_ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    for opt in ("opt_g", "opt_d"):  # Adam's moments too (reset at 8 and at 16 px in both runs)
        for i, moments in a[opt]["state"].items():
            assert all(torch.equal(v, b[opt]["state"][i][k]) for k, v in moments.items()), f"{opt} {i}"


@pytest.mark.parametrize("args, message", [
    (["--batch-by-side", "4:0"], "batch_by_side: each side is a power of two from 4 and each batch 1 or more"),
    (["--batch-by-side", "4-32"], "batch_by_side must be distinct side:batch pairs"),
    (["--batch-by-side", "4:100"], "the data has 64 images, fewer than one batch of 100 per process"),
    (["--fade-kimg", "-1"], "fade_kimg and stable_kimg are thousands of images, 0 or more"),
    (["--grow-from", "32"], "grow_from must be a power of two from 4 up to the resolution 16 (got 32)"),
    (["--grow-from", "6"], "grow_from must be a power of two from 4 up to the resolution 16 (got 6)"),
    (["--arch", "dcgan", "--fmap-base", "64"], "fmap_base is a setting of arch progan, not of dcgan"),
])
def test_bad_schedule_values_get_one_line(args, message, capsys, tmp_path):
    assert main(["train", *TINY, *args, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_batch_table_needs_a_growing_run(capsys, tmp_path):
    args = ["train", "--batch-by-side", "4:32", "--data", "synthetic", "--runs-dir", str(tmp_path)]
    assert main(args) == 2
    assert "--batch-by-side sets the batch at each side of a growing run: it needs --grow-from" in \
        capsys.readouterr().err


def test_growing_needs_an_architecture_that_grows(capsys, tmp_path):
    args = ["train", "--arch", "dcgan", "--grow-from", "4", "--data", "synthetic", "--runs-dir", str(tmp_path)]
    assert main(args) == 2
    assert "--grow-from needs an architecture that grows (progan); dcgan does not" in capsys.readouterr().err


def test_the_presets_follow_the_papers_recipe():
    from facegan.config import build_config

    for name in ("progan", "progan-cpu"):
        cfg = build_config(name)
        assert (cfg.arch, cfg.loss, cfg.gp_weight, cfg.drift_weight) == ("progan", "wgan", 10.0, 0.001), name
        assert (cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.beta2, cfg.grow_from, cfg.grow_reset_adam) == \
            (1e-3, 1e-3, 0.0, 0.99, 4, True), name
        assert cfg.ema_kimg > 0 and cfg.augment in ("", "color,translation,cutout")
    gpu, cpu = build_config("progan"), build_config("progan-cpu")
    assert (gpu.model.fmap_base, gpu.model.fmap_max, gpu.batch_size) == (8192, 512, 32)  # the paper's 64 px row
    assert batch_table(gpu.batch_by_side) == {4: 128, 8: 128, 16: 128, 32: 64}  # and its smaller sides
    assert cpu.minutes > 0 and GrowthSchedule(4, 64, cpu.fade_kimg, cpu.stable_kimg).total_kimg() == 54


def test_a_progan_export_edits_and_projects_like_any_generator(tmp_path):
    """Directions (InterFaceGAN and SeFa, which reads the dense layer z enters) and photo projection run
    on the full-size eval-mode generator."""
    from facegan.editing.directions import fit_directions
    from facegan.editing.projection import project
    from facegan.models.classifiers.attributes import AttributeClassifier

    assert main(["train", *TINY, "--epochs", "1", "--runs-dir", str(tmp_path), "--name", "edit"]) == 0
    G = load_generator(next(tmp_path.glob("*-edit")))
    torch.manual_seed(0)
    directions = fit_directions(G, AttributeClassifier(2, width=4).eval(), ("Smiling", "Male"), ("Smiling",),
                                samples=200, sefa=2, say=lambda *a: None)
    assert directions.names == ("Smiling", "sefa-1", "sefa-2") and directions.vectors.shape == (3, 8)
    target = sample(G, 1, seed=9)
    code, face, history = project(G, target, steps=20, candidates=4, say=lambda *a: None)
    assert face.shape == (1, 3, 16, 16) and history[-1] <= history[0]
