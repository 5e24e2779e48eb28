"""DiffAugment: each operation does what it says, differentiably, from the run's RNG; every D call
in training goes through the hook, real and fake alike; resume stays bitwise with it on."""
import pytest
import torch

from facegan.config import TrainConfig
from facegan.errors import FaceganError
from facegan.training import augment, loop, setup, steps
from facegan.training import state as ckpt
from facegan.training.loop import train


def _rng(seed=0):
    return torch.Generator().manual_seed(seed)


def test_translation_shifts_whole_images_and_fills_with_zeros():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8) + 1  # no zeros inside
    y = augment.translation(x, _rng(3), ratio=0.25)
    for i in range(2):
        # find the shift: some (dy, dx) in [-2, 2] reproduces the output exactly
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(y[i], _shift(x[i], dy, dx))]
        assert matches, f"image {i} is not a translation of its input"


def _shift(img, dy, dx):
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    for r in range(h):
        for c in range(w):
            if 0 <= r + dy < h and 0 <= c + dx < w:
                out[:, r, c] = img[:, r + dy, c + dx]
    return out


def test_cutout_zeroes_one_square_of_half_the_side_per_image():
    x = torch.ones(16, 3, 8, 8)
    y = augment.cutout(x, _rng(1))
    zero = (y == 0).all(dim=1)  # (B, H, W): all channels cut together
    assert ((y == 0) | (y == 1)).all()
    for mask in zero:
        rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
        assert 0 < len(rows) <= 4 and 0 < len(cols) <= 4  # a 4x4 square, clipped at the border
        assert mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()  # one solid rectangle


def test_color_changes_brightness_saturation_and_contrast_per_image():
    x = torch.rand(8, 3, 4, 4) * 2 - 1
    y = augment.color(x, _rng(2))
    assert y.shape == x.shape and not torch.allclose(x, y)
    means = (y - x).mean(dim=(1, 2, 3))
    assert means.std() > 0  # each image got its own draw


def test_policy_is_seeded_differentiable_and_identity_when_empty():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    a = augment.make_augment(("color", "translation", "cutout"), _rng(5))(x)
    b = augment.make_augment(("color", "translation", "cutout"), _rng(5))(x)
    assert torch.equal(a, b)  # the same RNG state gives the same augmentation: resume can be bitwise
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # gradients reach the input (G's images)
    assert augment.make_augment((), _rng())(x) is x


def test_unknown_operation_is_a_clear_config_error():
    with pytest.raises(FaceganError, match="augment must be a comma-separated list"):
        TrainConfig(augment="color,zoom")


def test_every_d_call_sees_augmented_images_real_and_fake(tiny_config, monkeypatch):
    """The hook is applied to the real batch, the detached fakes and G's fakes in the G step."""
    cfg = tiny_config(augment="translation")
    parts = setup.setup(cfg, 3, 64, torch.device("cpu"))
    seen = []
    plain = parts.augment

    def spy(images):
        seen.append(images.requires_grad)
        return plain(images)

    parts.augment = spy
    pos = steps.Position(_rng())
    real = torch.rand(cfg.batch_size, 3, 64, 64) * 2 - 1
    steps.train_step(parts, pos, real)
    # D step: real (no grad), fake.detach() (no grad); G step: fake with G's graph
    assert seen == [False, False, True]


def test_resume_with_augment_and_ema_is_bitwise(tiny_config):
    cfg = dict(augment="color,translation,cutout", ema_kimg=0.05)
    straight = train(tiny_config(name="straight", epochs=2, **cfg), progress=False)
    half = train(tiny_config(name="half", epochs=1, **cfg), progress=False)
    train(loop.resume_config(half, epochs=2), resume=half, progress=False)
    a, b = ckpt.latest_state(straight), ckpt.latest_state(half)
    for part in ("generator", "discriminator", "generator_ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    # and the augmentation changed training: the same run without it ends elsewhere
    plain = ckpt.latest_state(train(tiny_config(name="plain", epochs=2, ema_kimg=0.05), progress=False))
    assert not torch.equal(plain["generator"]["net.0.weight"], a["generator"]["net.0.weight"])


def test_adaptive_augment_applies_each_operation_with_probability_p():
    x = torch.rand(400, 3, 8, 8)
    ada = augment.AdaptiveAugment(("color",), _rng(2), torch.contiguous_format, target=0.6, speed_kimg=1.0)
    assert torch.equal(ada(x), x)  # p starts at 0: nothing applied
    ada.p = torch.tensor(1.0)
    assert ((ada(x) - x).abs().amax(dim=(1, 2, 3)) > 0).all()  # p 1: every image
    ada.p = torch.tensor(0.5)
    changed = ((ada(x) - x).abs().amax(dim=(1, 2, 3)) > 0).float().mean().item()
    assert 0.42 < changed < 0.58, changed  # 400 draws: 4 standard errors either side of one half


def test_adaptive_augment_moves_p_by_the_sign_of_r_t_every_four_steps():
    """r_t = E[sign D(real)]; every 4th D step p moves by sign(r_t - target) * images / (speed_kimg * 1000)."""
    ada = augment.AdaptiveAugment(("color",), _rng(), torch.contiguous_format, target=0.6, speed_kimg=1.0)
    sure = torch.ones(50, 1)  # D calls every real real: r_t = 1 > 0.6
    for _ in range(3):
        ada.observe(sure)
    assert ada.p.item() == 0  # not yet: the 4th step adjusts
    ada.observe(sure)
    assert ada.p.item() == pytest.approx(4 * 50 / 1000)
    for _ in range(4):
        ada.observe(torch.cat([torch.ones(40, 1), -torch.ones(10, 1)]))  # r_t = 0.6: on target, no move
    assert ada.p.item() == pytest.approx(0.2)
    for _ in range(8):
        ada.observe(-sure)  # r_t = -1: down, and never below 0
    assert ada.p.item() == 0
    saved = ada.state_dict()
    assert set(saved) == {"p", "signs", "steps"} and saved["steps"] == 16


def test_adaptive_augment_resumes_bitwise_mid_interval_and_logs_p(tiny_config):
    """48 faces, batch 16: 3 steps an epoch, so the cut after epoch 1 falls inside ADA's 4-step interval
    and the running signs must come back with p."""
    cfg = dict(augment="color,translation,cutout", ada_target=1e-6, ada_kimg=0.256, synthetic_count=48)
    straight = train(tiny_config(name="straight", epochs=3, **cfg), progress=False)
    half = train(tiny_config(name="half", epochs=1, **cfg), progress=False)
    assert ckpt.latest_state(half)["augment"]["steps"] == 3
    train(loop.resume_config(half, epochs=3), resume=half, progress=False)
    a, b = ckpt.latest_state(straight), ckpt.latest_state(half)
    for part in ("generator", "discriminator"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    assert all(torch.equal(torch.as_tensor(a["augment"][k]), torch.as_tensor(b["augment"][k])) for k in a["augment"])
    # this D is right about most reals after a few steps (r_t > 1e-6), so p has risen: 2 adjustments of 0.25
    assert a["augment"]["p"].item() == pytest.approx(0.5)
    assert "augment_p" in ckpt.read_history(straight)[-1]


@pytest.mark.parametrize("values, message", [
    (dict(ada_target=1.5, augment="color"), "ada_target is a share from 0 up to 1"),
    (dict(ada_target=0.6, ada_kimg=0.0, augment="color"), "ada_target is a share from 0 up to 1"),
    (dict(ada_target=0.6), "--ada-target sets how often the --augment operations apply"),
])
def test_bad_adaptive_augment_values_are_one_line(values, message):
    with pytest.raises(FaceganError, match=message):
        TrainConfig(**values)
