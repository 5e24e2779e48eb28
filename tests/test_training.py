import json
import signal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import state_tensors

from facegan.config import TrainConfig
from facegan.errors import FaceganError
from facegan.interop.export import load_generator
from facegan.models import build_models
from facegan.training import loop, setup, steps
from facegan.training import state as ckpt
from facegan.training.loop import train


def _final_state(run_dir):
    return ckpt.latest_state(run_dir)


def _assert_same_weights(a: dict, b: dict):
    for part in ("generator", "discriminator"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k} differs"


def test_training_changes_weights_keeps_losses_finite_and_writes_the_run(tiny_config, tmp_path):
    cfg = tiny_config(epochs=2)
    torch.manual_seed(cfg.seed)
    untrained = state_tensors(build_models(cfg, 3, 64)[0])
    run = train(cfg, progress=False)
    assert run.name == "001-dcgan"
    for name in ("config.json", "log.jsonl", "losses.png", "generator.safetensors",
                 "samples/epoch_001.png", "samples/epoch_002.png"):
        assert (run / name).is_file(), name
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert records and records[-1]["step"] == 8  # 64 images / batch 16 = 4 steps x 2 epochs
    for r in records:
        assert all(torch.isfinite(torch.tensor(r[k])) for k in ("d_loss", "g_loss", "d_real", "d_fake"))
        assert 0 <= r["d_real"] <= 1 and r["img_per_s"] > 0
    trained = _final_state(run)["generator"]
    changed = [k for k in untrained if untrained[k].is_floating_point() and not torch.equal(untrained[k], trained[k])]
    assert len(changed) == len([k for k in untrained if untrained[k].is_floating_point()])
    assert train(cfg, progress=False).name == "002-dcgan"  # one run directory per run


def test_same_seed_same_weights_bitwise(tiny_config):
    a = _final_state(train(tiny_config(name="a"), progress=False))
    b = _final_state(train(tiny_config(name="b"), progress=False))
    _assert_same_weights(a, b)
    c = _final_state(train(tiny_config(name="c", seed=1), progress=False))
    assert not torch.equal(a["generator"]["net.0.weight"], c["generator"]["net.0.weight"])


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_resume_equals_uninterrupted_bitwise(tiny_config, precision):
    straight = train(tiny_config(name="straight", epochs=2, precision=precision), progress=False)
    half = train(tiny_config(name="half", epochs=1, precision=precision), progress=False)
    resumed = train(loop.resume_config(half, epochs=2), resume=half, progress=False)
    assert resumed == half
    a, b = _final_state(straight), _final_state(resumed)
    _assert_same_weights(a, b)
    assert a["opt_g"]["state"][0]["exp_avg"].equal(b["opt_g"]["state"][0]["exp_avg"])
    assert [r["d_loss"] for r in ckpt.read_history(straight)] == [r["d_loss"] for r in ckpt.read_history(resumed)]
    assert len(a["loss_scalers"]) == (2 if precision == "fp16" else 0)
    assert a["loss_scalers"] == b["loss_scalers"]  # fp16: scale and growth tracker carried over the resume


def test_options_run_wgan_gp_steplr_and_two_g_steps(tiny_config):
    cfg = tiny_config(loss="wgan", gp_weight=10.0, lr_step_size=1, lr_gamma=0.5, g_steps=2, epochs=2)
    state = _final_state(train(cfg, progress=False))
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(cfg.lr_g * 0.25)
    assert state["opt_g"]["state"][0]["step"].item() == 16  # 2 G steps per D step x 8 steps


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_identically(tiny_config, monkeypatch):
    straight = _final_state(train(tiny_config(name="straight", epochs=2), progress=False))
    real_g_step, calls = steps.g_step, []

    def interrupting_g_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:  # a real SIGINT in the middle of step 6 (epoch 2)
            signal.raise_signal(signal.SIGINT)
        return real_g_step(*args, **kwargs)

    monkeypatch.setattr(steps, "g_step", interrupting_g_step)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(name="interrupted", epochs=2), progress=False)
    monkeypatch.setattr(steps, "g_step", real_g_step)
    run = next(Path(tiny_config().runs_dir).glob("*-interrupted"))
    saved = _final_state(run)
    assert (saved["epoch"], saved["batch_in_epoch"], saved["step"]) == (1, 2, 6)  # step 6 completed
    train(loop.resume_config(run), resume=run, progress=False)
    _assert_same_weights(straight, _final_state(run))


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tiny_config, monkeypatch):
    d_loss, g_loss = steps.LOSSES["bce"]
    calls = []

    def exploding(real, fake):
        calls.append(1)
        return d_loss(real, fake) * (float("nan") if len(calls) >= 6 else 1.0)

    monkeypatch.setitem(steps.LOSSES, "bce", (exploding, g_loss))
    with pytest.raises(FaceganError, match=r"non-finite loss at step 6 .*last good checkpoint: .*state-00000004\.pt"):
        train(tiny_config(epochs=3), progress=False)


def test_resume_refuses_a_finished_run_and_missing_runs(tiny_config, tmp_path):
    run = train(tiny_config(), progress=False)
    with pytest.raises(FaceganError, match="already trained 1 epoch"):
        train(loop.resume_config(run), resume=run, progress=False)
    with pytest.raises(FaceganError, match="does not exist"):
        loop.resume_config(tmp_path / "nope")


def test_too_few_images_for_a_batch_is_a_clear_error(tiny_config):
    with pytest.raises(FaceganError, match="fewer than one batch of 128"):
        train(tiny_config(batch_size=128), progress=False)


def test_callbacks_receive_each_epoch(tiny_config):
    seen = []
    train(tiny_config(epochs=2), callbacks=[seen.append], progress=False)
    assert [e.epoch for e in seen] == [1, 2] and all(e.grid_path.is_file() for e in seen)
    assert seen[-1].record["step"] == 8


def test_resuming_a_checkpoint_of_another_architecture_is_a_clear_error(tiny_config):
    run = train(tiny_config(), progress=False)
    state = ckpt.latest_state(run)
    state["config"]["model"]["width"] = 0.25  # the saved weights are width 0.125
    ckpt.save_state(run, {k: v for k, v in state.items() if k not in ("format", "format_version")}, keep=3)
    (run / "config.json").write_text(json.dumps(state["config"]))  # the run says so too: its checkpoint is "intact"
    with pytest.raises(FaceganError, match="does not fit this model"):
        train(loop.resume_config(run, epochs=2), resume=run, progress=False)


def test_compiled_training_runs_and_checkpoints_load_into_plain_modules(tiny_config, capsys):
    import torch._dynamo as dynamo
    from torch._dynamo.utils import counters

    counters.clear()
    before = dynamo.config.suppress_errors
    run = train(tiny_config(compile=True, compile_mode="reduce-overhead"), progress=False)
    assert dynamo.config.suppress_errors == before  # the eager fallback does not leak into the process
    assert "torch.compile: on, mode reduce-overhead" in capsys.readouterr().out  # on a CPU: no CUDA graphs
    assert counters["stats"]["unique_graphs"] >= 2  # G and D really were compiled, not skipped
    state = ckpt.latest_state(run)
    assert not any(k.startswith("_orig_mod") for k in state["generator"])  # plain keys: loads anywhere
    for record in ckpt.read_history(run):
        assert torch.isfinite(torch.tensor([record["d_loss"], record["g_loss"]])).all()
    load_generator(run / "generator.safetensors")


def test_cuda_graph_steps_are_marked_only_for_reduce_overhead_on_cuda(tiny_config):
    marker = setup.cudagraph_step_marker
    assert marker(tiny_config(compile=True, compile_mode="reduce-overhead"), torch.device("cuda")) \
        is torch.compiler.cudagraph_mark_step_begin
    assert marker(tiny_config(compile=True, compile_mode="reduce-overhead"), torch.device("cpu")) \
        is not torch.compiler.cudagraph_mark_step_begin
    assert marker(tiny_config(compile=True), torch.device("cuda")) is not torch.compiler.cudagraph_mark_step_begin


def test_a_checkpoint_from_before_fused_adam_resumes_with_fused_adam():
    """load_state_dict takes the saved groups' options: without care an old run would resume unfused."""
    model = torch.nn.Linear(3, 2)
    old = torch.optim.Adam(model.parameters(), lr=1e-3)  # the pre-fused optimiser's state
    model(torch.randn(4, 3)).sum().backward()
    old.step()
    saved = old.state_dict()
    for group in saved["param_groups"]:
        group.pop("fused", None)
    new = setup.adam(model, 1e-3, TrainConfig(), torch.device("cpu"))
    ckpt.load_optimizer_state(new, saved)
    assert new.param_groups[0]["fused"] is True
    assert new.state[model.weight]["exp_avg"].equal(old.state[model.weight]["exp_avg"])
    new.step()  # the fused kernel accepts the restored state


def test_compile_with_the_gradient_penalty_compiles_g_only_and_trains(tiny_config, capsys):
    """Compiled graphs cannot be differentiated twice (aot_autograd), which WGAN-GP needs through D."""
    run = train(tiny_config(compile=True, loss="wgan", gp_weight=10.0), progress=False)
    assert "torch.compile runs on G only" in capsys.readouterr().out
    assert all(torch.isfinite(torch.tensor(r["d_loss"])) for r in ckpt.read_history(run))


def test_compile_with_r1_compiles_the_style_generator_only_and_every_layer(tiny_config, capsys):
    """StyleGAN2's lazy R1 is a double backward through D too (compiling D crashed the run); and each
    synthesis layer of another width recompiles the same forward, past dynamo's default limit of 8."""
    import torch._dynamo as dynamo

    run = train(tiny_config(arch="stylegan2", resolution=16, latent_dim=8, w_dim=8, channel_base=64, channel_max=8,
                            r1_gamma=1.0, r1_every=2, compile=True), progress=False)
    assert "torch.compile runs on G only" in capsys.readouterr().out
    assert dynamo.config.recompile_limit >= 64
    records = ckpt.read_history(run)
    assert records[-1]["step"] == 4 and all(torch.isfinite(torch.tensor(r["d_loss"])) for r in records)


def test_real_batch_scales_to_unit_range_and_flip_mirrors_about_half_the_images():
    images = torch.arange(4 * 3 * 2 * 2, dtype=torch.uint8).reshape(4, 3, 2, 2) * 5
    index = torch.arange(4).repeat(16)  # 64 draws of 4 images
    plain = steps.real_batch(images, index, False, torch.Generator().manual_seed(0))
    assert torch.equal(plain, images[index].float() / 127.5 - 1)
    flipped = steps.real_batch(images, index, True, torch.Generator().manual_seed(0))
    mirrored = torch.tensor([torch.equal(f, p.flip(2)) for f, p in zip(flipped, plain)])
    same = torch.tensor([torch.equal(f, p) for f, p in zip(flipped, plain)])
    assert (mirrored | same).all() and 16 < mirrored.sum() < 48  # left-right mirror images, about half


def test_d_step_adds_the_gradient_penalty(tiny_config, monkeypatch):
    """With gp_weight > 0 the D loss is the adversarial loss plus gp_weight x the penalty."""
    cfg = tiny_config(loss="wgan", gp_weight=10.0)
    parts = setup.setup(cfg, 3, 64, torch.device("cpu"))
    monkeypatch.setattr(steps, "gradient_penalty", lambda critic, real, fake, rng: torch.tensor(0.5))
    monkeypatch.setitem(steps.LOSSES, "wgan", (lambda r, f: torch.tensor(1.0, requires_grad=True),
                                                  steps.LOSSES["wgan"][1]))
    real = torch.rand(cfg.batch_size, 3, 64, 64) * 2 - 1
    _, stats = steps.d_step(parts, real, torch.randn(cfg.batch_size, cfg.latent_dim))
    assert stats["d_loss"].item() == pytest.approx(1.0 + 10.0 * 0.5)


def test_models_come_from_the_registry_and_fit_the_data(tiny_config):
    """A 32x32 one-channel data set gets a matching DCGAN through the registry, end to end."""
    from facegan.data.images import FaceData
    from facegan.viz import grid_image

    faces = FaceData(torch.randint(0, 256, (32, 1, 32, 32), dtype=torch.uint8), "grey squares")
    run = train(tiny_config(batch_size=16, grid_size=4), faces=faces, progress=False)
    G = load_generator(run)
    assert G.arch()["channels"] == 1 and G.arch()["resolution"] == 32
    assert G(torch.randn(2, 16)).shape == (2, 1, 32, 32)
    assert grid_image(G(torch.randn(4, 16)).detach(), nrow=2).mode == "L"


def test_unknown_architecture_and_unfit_resolution_are_clear_errors(tiny_config):
    from facegan.models import build_models

    with pytest.raises(FaceganError, match="arch must be one of dcgan"):
        tiny_config(arch="stylegan9")
    with pytest.raises(FaceganError, match="power-of-two image size"):
        build_models(tiny_config(), 3, 28)


def test_time_limit_ends_the_run_mid_epoch_with_a_checkpoint_and_export(tiny_config, capsys, monkeypatch):
    clock = iter(range(0, 10_000, 30))  # every reading of the clock is 30 s later than the last
    monkeypatch.setattr(loop, "time", SimpleNamespace(perf_counter=lambda: float(next(clock))))  # the trainer's clock only
    run = train(tiny_config(minutes=1.5, epochs=5, log_every=1), progress=False)
    state = ckpt.latest_state(run)
    assert 0 < state["step"] < 20 and (run / "generator.safetensors").is_file()
    assert "time limit of 1.5 min reached" in capsys.readouterr().out


def thirty_second_steps(monkeypatch) -> None:
    """The trainer's clock moves 30 s with every training step and stands still otherwise."""
    now = [0.0]
    real_steps = loop.training_steps

    def steps_taking_thirty_seconds(*args):
        for stats in real_steps(*args):
            now[0] += 30
            yield stats

    monkeypatch.setattr(loop, "training_steps", steps_taking_thirty_seconds)
    monkeypatch.setattr(loop, "time", SimpleNamespace(perf_counter=lambda: now[0]))


def test_time_limit_is_checked_every_step_even_when_epochs_are_shorter_than_a_log_interval(tiny_config, capsys,
                                                                                           monkeypatch):
    """64 faces in batches of 16: 4 steps an epoch, never a log interval of 20 inside one. The deadline is
    checked at every step, against the last step's duration: the run stops before a step that would end past
    it (it used to be checked every 20 steps, and overshot a 5 min limit by half a minute)."""
    thirty_second_steps(monkeypatch)
    run = train(tiny_config(minutes=5.0, epochs=50, log_every=20), progress=False)
    state = ckpt.latest_state(run)
    assert state["step"] == 10  # 10 x 30 s end at the limit, 300 s; the 11th would pass it and is not taken
    assert state["seconds_trained"] == 300
    assert (run / "generator.safetensors").is_file()
    out = capsys.readouterr().out
    assert "(time limit)" in out and "time limit of 5 min reached" in out


def test_a_resumed_run_continues_with_the_time_its_limit_has_left(tiny_config, capsys, monkeypatch):
    thirty_second_steps(monkeypatch)
    run = train(tiny_config(minutes=10.0, epochs=1), progress=False)  # one epoch: 4 steps, 2 of its 10 min
    assert ckpt.latest_state(run)["seconds_trained"] == 120
    capsys.readouterr()
    run = train(loop.resume_config(run, epochs=500), resume=run, progress=False)
    out = capsys.readouterr().out
    assert "8m00s of its 10 min time limit left" in out and "time limit of 10 min reached" in out
    state = ckpt.latest_state(run)
    assert state["seconds_trained"] == 600 and state["step"] == 20  # 16 more steps of 30 s, not 20
    with pytest.raises(FaceganError, match=r"has used its time limit of 10 min .*--resume .* --minutes N"):
        train(loop.resume_config(run, epochs=1000), resume=run, progress=False)
    train(loop.resume_config(run, epochs=1000, minutes=20.0), resume=run, progress=False)  # more time: it goes on


def test_each_epoch_grid_says_how_far_the_run_is_and_what_it_learnt_from(tiny_config):
    run = train(tiny_config(epochs=2), progress=False)  # 16 faces of 64 px: 4 x 4 tiles, 2 px apart
    assert loop.grid_caption(2, SimpleNamespace(images_seen=128), "64 built-in synthetic faces") == \
        "epoch 2, 128 images seen, learnt from 64 built-in synthetic faces (real faces: facegan download " \
        "celeba-small, then facegan train)"
    assert loop.grid_caption(1, SimpleNamespace(images_seen=2048), None) == "epoch 1, 2,048 images seen"
    from PIL import Image

    grid = np.asarray(Image.open(run / "samples" / "epoch_002.png").convert("L"))
    side = 4 * 66 + 2
    assert grid.shape[1] == side and grid.shape[0] > side + 20  # the caption's band below the tiles
    band = grid[side:]
    assert band.max() == 255 and band.min() < 100  # white, with dark text on it


def test_a_budget_of_images_ends_the_run_at_the_step_that_reaches_it_and_says_what_it_learnt_from(tiny_config,
                                                                                                 capsys):
    run = train(tiny_config(kimg=0.1, epochs=50), progress=False)  # 100 images: 7 steps of 16 (4 per epoch)
    state = ckpt.latest_state(run)
    assert state["step"] == 7 and state["images_seen"] == 112 and (run / "generator.safetensors").is_file()
    out = capsys.readouterr().out
    assert "done: 0.1k images trained (1 full epoch) of 64 built-in synthetic faces (real faces: " \
           "facegan download celeba-small, then facegan train)" in out
    from facegan.cli import main

    main(["sample", "--generator", str(run), "--n", "4", "--out", str(run / "four.png"), "--device", "cpu"])
    assert "by a generator trained on 64 built-in synthetic faces (real faces: facegan download celeba-small" \
           in capsys.readouterr().out
    with pytest.raises(FaceganError, match=r"already trained 0.112k images, its budget of 0.1k; pass --kimg N"):
        train(loop.resume_config(run, epochs=60), resume=run, progress=False)
    train(loop.resume_config(run, kimg=0.2), resume=run, progress=False)
    assert ckpt.latest_state(run)["step"] == 13  # 208 images >= 200


def test_the_plan_line_says_images_steps_minutes_and_how_to_change_them(tiny_config, capsys, monkeypatch):
    from facegan.training import plan

    monkeypatch.setattr(plan, "MEASURE_SECONDS", 0.0)
    train(tiny_config(kimg=0.2, epochs=50, minutes=30.0), progress=False)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("plan: "))
    assert line.startswith("plan: 0.2k images (a budget of 0.2k images) of 64 built-in synthetic faces, ")
    assert "more steps of 16: about " in line and " img/s" in line and "--kimg N" in line and "--minutes N" in line
    capsys.readouterr()
    train(tiny_config(epochs=2), progress=False)  # no budget, no limit (--minutes 0): still an estimate
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("plan: "))
    assert line.startswith("plan: 0.128k images (2 epochs) of 64 built-in synthetic faces")


def test_a_job_too_long_for_this_machine_is_scaled_down_and_said(tiny_config, monkeypatch, capsys):
    from facegan.data.images import load_faces
    from facegan.training import plan

    cfg = tiny_config(kimg=60.0, epochs=10_000, fit_minutes=15.0)
    faces = load_faces("synthetic", 64, progress=False)
    rates = {64: 20.0, 32: 80.0}  # images per second at each side: 60k images take 50 min, then 12.5 min
    monkeypatch.setattr(plan, "measure_speed", lambda cfg, faces, device: rates[faces.resolution])
    fitted, smaller = plan.fit_job(cfg, faces, torch.device("cpu"), print)
    assert fitted.resolution == 32 and smaller.resolution == 32 and fitted.kimg == 60.0
    assert "scaled down: 60k images at 64 px would take about 50 min here (20 img/s), more than --fit-minutes 15; " \
           "training 60k images at 32 px instead (the whole job: --fit-minutes 0)" in capsys.readouterr().out
    rates[32] = 20.0  # still too slow at 32 px: fewer images, not fewer than MIN_FIT_KIMG
    fitted, _ = plan.fit_job(cfg, faces, torch.device("cpu"), print)
    assert fitted.kimg == 20.0 and "training 20k images at 32 px" in capsys.readouterr().out
    rates[64] = 1000.0  # fits: unchanged
    assert plan.fit_job(cfg, faces, torch.device("cpu"), print) == (cfg, faces)


def test_measuring_the_machine_leaves_the_run_as_if_unmeasured(tiny_config, monkeypatch, capsys):
    """fit_minutes set: the trainer first times throwaway steps (plan.measure_speed); the run itself must
    be bitwise the one trained without that measurement."""
    from facegan.training import plan

    monkeypatch.setattr(plan, "MEASURE_SECONDS", 0.2)
    calls = []
    real = plan.measure_speed
    monkeypatch.setattr(plan, "measure_speed", lambda *a: calls.append(real(*a)) or calls[-1])
    measured = _final_state(train(tiny_config(epochs=1, fit_minutes=1000.0), progress=False))
    assert len(calls) == 1 and calls[0] > 0 and "scaled down" not in capsys.readouterr().out
    plain = _final_state(train(tiny_config(epochs=1, name="plain"), progress=False))
    _assert_same_weights(measured, plain)
