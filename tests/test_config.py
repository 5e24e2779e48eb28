import json

import pytest

from facegan.config import AUTO_LONG_CPU_MINUTES, PRESETS, TrainConfig, build_config, resolve_preset
from facegan.data import DEFAULT_CELEBA_DIR
from facegan.errors import FaceganError


def test_paper_preset_is_the_course_project_table():
    cfg = build_config("paper")
    assert (cfg.latent_dim, cfg.batch_size, cfg.epochs) == (256, 128, 50)
    assert (cfg.beta1, cfg.beta2, cfg.lr_g, cfg.lr_d) == (0.5, 0.999, 2e-4, 1e-4)
    assert cfg.loss == "bce" and cfg.gp_weight == 0 and cfg.lr_step_size == 0 and cfg.g_steps == 1
    assert cfg.model.width == 1.0


def test_auto_preset_follows_the_device():
    assert resolve_preset("auto", "cuda") == "paper"
    assert resolve_preset("auto", "mps") == "paper"
    assert resolve_preset("auto", "cpu") == "quick"
    assert resolve_preset("auto", "cpu", AUTO_LONG_CPU_MINUTES - 1) == "quick"
    assert resolve_preset("auto", "cpu", AUTO_LONG_CPU_MINUTES) == "stylegan-cpu-long"  # the shipped recipe
    assert resolve_preset("auto", "cuda", 600) == "paper"
    long_run = build_config("auto", {"minutes": 120}, device_type="cpu")
    assert long_run.preset == "stylegan-cpu-long" and long_run.minutes == 120 and long_run.ada_target == 0.6
    assert build_config("auto", {"minutes": 30}, device_type="cpu").preset == "quick"
    cpu = build_config("auto", device_type="cpu")
    assert cpu.data == DEFAULT_CELEBA_DIR  # CelebA when present, else the synthetic faces with a note
    assert cpu.minutes > 0 and cpu.model.upsample == "resize" and cpu.ema_kimg > 0  # measured on a CPU (RESULTS.md)
    paper = build_config("paper")  # the course project's table
    assert (paper.minutes, paper.model.upsample, paper.ema_kimg, paper.augment) == (0, "transpose", 0, "")


def test_overrides_beat_presets_and_round_trip_through_json():
    cfg = build_config("quick", {"epochs": 7, "lr_g": 1})  # int accepted for a float field
    assert cfg.epochs == 7 and cfg.lr_g == 1.0 and cfg.model.width == PRESETS["quick"]["width"]
    assert TrainConfig.from_dict(json.loads(cfg.to_json())) == cfg


@pytest.mark.parametrize("values, message", [
    ({"epochs": -1}, "epochs must be a positive integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"width": 0.0}, "width must be > 0"),
    ({"device": "tpu"}, "device must be auto, cpu"),
    ({"loss": "ls"}, "loss must be one of bce, wgan, hinge"),
    ({"name": "a/b"}, "name may use"),
])
def test_invalid_values_are_named(values, message):
    with pytest.raises(FaceganError, match=message):
        build_config("paper", values)


def test_unknown_keys_wrong_types_and_presets_are_errors():
    with pytest.raises(FaceganError, match="unknown config key 'epoch'"):
        build_config("paper", {"epoch": 3})
    with pytest.raises(FaceganError, match="epochs must be int"):
        build_config("paper", {"epochs": "3"})
    with pytest.raises(FaceganError, match="unknown preset 'fast'"):
        build_config("fast")


@pytest.mark.parametrize("preset", ["stylegan", "stylegan-cpu"])
def test_stylegan_presets_follow_the_official_64px_recipe_and_build(preset):
    """stylegan2-ada-pytorch's "auto" config at 64 px: Adam (0, 0.99), lr 0.0025, R1 gamma
    0.0002 * res^2 / batch, EMA half-life batch * 10 / 32 kimg, 2 mapping layers, style mixing 0.9.
    Changing a preset's batch without its gamma or EMA fails here."""
    from facegan.models import build_models
    from facegan.models.summary import count_parameters

    cfg = build_config(preset)
    assert cfg.arch == "stylegan2" and (cfg.beta1, cfg.beta2, cfg.lr_g, cfg.lr_d) == (0.0, 0.99, 0.0025, 0.0025)
    assert cfg.r1_gamma == pytest.approx(0.0002 * 64 ** 2 / cfg.batch_size) and cfg.r1_every == 16
    assert cfg.ema_kimg == pytest.approx(cfg.batch_size * 10 / 32)
    assert cfg.model.mapping_layers == 2 and cfg.model.style_mixing == 0.9 and cfg.batch_size % 4 == 0
    G, D = build_models(cfg, 3, 64)
    if preset == "stylegan-cpu":  # the size chosen on 2 CPU cores (bench/RESULTS.md): about 1 M each
        assert cfg.minutes == 10 and count_parameters(G) < 1.2e6 and count_parameters(D) < 1.2e6
    else:
        assert (cfg.model.w_dim, cfg.model.channel_base, cfg.model.channel_max) == (512, 16384, 512)
    assert resolve_preset("auto", "cpu") == "quick"  # the DCGAN stays the CPU default (measured: RESULTS.md)


def test_the_quick_preset_is_a_budget_of_images_scaled_down_only_when_the_user_did_not_size_the_job():
    from facegan.config import QUICK_KIMG

    cfg = build_config("quick")
    assert cfg.kimg == QUICK_KIMG and cfg.fit_minutes == 15.0 and cfg.minutes == 30.0  # the limit: a safety net
    for sized in ({"kimg": 40}, {"minutes": 5}, {"epochs": 3}, {"resolution": 32}, {"width": 0.5}):
        assert build_config("quick", sized).fit_minutes == 0.0, sized
    assert build_config("quick", {"kimg": 40, "fit_minutes": 5}).fit_minutes == 5.0
    with pytest.raises(FaceganError, match="kimg and fit_minutes must be >= 0"):
        build_config("quick", {"kimg": -1})
