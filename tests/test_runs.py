"""One writer per run, resuming past damaged checkpoints, and ``facegan verify`` (issue 42): a run's bad day."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facegan.cli import main
from facegan.errors import FaceganError
from facegan.fileio import content_digest as digest
from facegan.training import loop
from facegan.training import state as ckpt
from facegan.training.loop import train
from facegan.training.runlock import holder, run_lock

ROOT = Path(__file__).resolve().parents[1]
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0x01
    path.write_bytes(bytes(data))


def newest_state(run: Path) -> dict:
    return ckpt.load_state(ckpt.list_checkpoints(run)[-1])


def files_of(folder: Path) -> dict:
    """Every file below ``folder`` with its size, modification time and bytes: what "nothing written" compares."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*"))
            if p.is_file()}


def hold_lock_in_another_process(run: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom facegan.training.runlock import run_lock\n"
                              "with run_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(600)\n",
                              str(run)], env=CHILD_ENV, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


@pytest.fixture
def three_checkpoints(tiny_config):
    """A run of 3 epochs of 4 steps with its 3 checkpoints kept (steps 4, 8, 12), and a config to go on to 4."""
    run = train(tiny_config(epochs=3, keep_checkpoints=3), progress=False)
    assert [ckpt.step_of(p) for p in ckpt.list_checkpoints(run)] == [4, 8, 12]
    return run


def test_a_second_trainer_is_refused_while_the_first_lives_and_the_lock_is_free_once_it_is_killed(tmp_path, capsys):
    first = subprocess.Popen([sys.executable, "-m", "facegan", "train", "--runs-dir", str(tmp_path), "--name", "dup",
                              "--data", "synthetic", "--synthetic-count", "32", "--width", "0.125", "--latent-dim",
                              "16", "--batch-size", "16", "--grid-size", "4", "--device", "cpu", "--no-progress",
                              "--minutes", "0", "--epochs", "100000"], env=CHILD_ENV, cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = tmp_path / "001-dup"
    try:
        deadline = time.monotonic() + 240
        while not ckpt.list_checkpoints(run) and time.monotonic() < deadline:  # trained a first epoch
            time.sleep(0.5)
        assert ckpt.list_checkpoints(run), "the first trainer wrote no checkpoint in 4 minutes"
        assert holder(run)["pid"] == first.pid
        assert main(["train", "--resume", str(run), "--epochs", "100001"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"facegan train: error: {run} is in use by another trainer (pid {first.pid}, since ")
        assert f"kill {first.pid}) and run this again" in err and len(err.splitlines()) == 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert holder(run) is None  # free at once: the kernel released it with the process
    with run_lock(run):
        pass


def test_a_refused_trainer_writes_nothing(three_checkpoints, tiny_config):
    run = three_checkpoints
    child = hold_lock_in_another_process(run)
    try:
        before = files_of(run)
        with pytest.raises(FaceganError, match=rf"is in use by another trainer \(pid {child.pid}, since "):
            train(loop.resume_config(run, epochs=4), resume=run, progress=False)
        with pytest.raises(FaceganError, match="is in use by another trainer"):
            train(tiny_config(epochs=1), run_dir=run, progress=False)  # a new run into it: refused too
        assert files_of(run) == before
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("damaged", [1, 2])
def test_resume_skips_damaged_newest_checkpoints_and_equals_a_resume_from_the_intact_one(three_checkpoints, tmp_path,
                                                                                        damaged, capsys):
    run, reference = three_checkpoints, tmp_path / "reference"
    shutil.copytree(run, reference)
    newest = ckpt.list_checkpoints(run)[::-1]
    truncate(newest[0])
    if damaged == 2:
        flip_a_byte(newest[1])  # in its tensor data: only the checksum sees it
    intact_step = 12 - 4 * damaged
    capsys.readouterr()
    train(loop.resume_config(run, epochs=4), resume=run, progress=False)
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("resuming from")]
    assert len(said) == 1 and said[0].startswith(f"resuming from state-{intact_step:08d}.pt; skipped: "
                                                 "state-00000012.pt is not a readable checkpoint (truncated or corrupt?)")
    assert ("state-00000008.pt is damaged: its values do not match the checksum" in said[0]) == (damaged == 2)
    train(loop.resume_config(reference, epochs=4, checkpoint=intact_step), resume=reference, checkpoint=intact_step,
          progress=False)
    ours, theirs = newest_state(run), newest_state(reference)
    assert ours["step"] == theirs["step"] == 16
    for part in ("generator", "discriminator", "opt_g", "opt_d"):
        assert digest(ours[part]) == digest(theirs[part]), part
    set_aside = sorted(p.name for p in (run / "checkpoints" / "set-aside").iterdir())
    assert set_aside == [f"state-{s:08d}.pt" for s in range(intact_step + 4, 13, 4)]  # kept, not lost


def test_no_intact_checkpoint_is_one_line_listing_what_was_tried(three_checkpoints):
    run = three_checkpoints
    for path in ckpt.list_checkpoints(run):
        truncate(path)
    with pytest.raises(FaceganError) as error:
        loop.resume_config(run, epochs=4)
    message = str(error.value)
    assert message.startswith(f"{run} has no intact checkpoint to resume from; tried state-00000012.pt (")
    assert "state-00000008.pt (" in message and "state-00000004.pt (" in message and "\n" not in message
    assert "If you are seeing" not in message  # another library's error: its first sentence only


def test_checkpoint_flag_picks_a_step_and_names_the_ones_there_are(three_checkpoints, capsys):
    run = three_checkpoints
    assert main(["train", "--resume", str(run), "--epochs", "4", "--checkpoint", "5"]) == 2
    assert capsys.readouterr().err.strip().endswith("has no checkpoint of step 5; its checkpoints are of steps 4, 8, 12")
    assert main(["train", "--checkpoint", "4"]) == 2
    assert "give it with --resume RUN_DIR" in capsys.readouterr().err


def _from_another_run(run: Path, tiny_config) -> None:
    other = train(tiny_config(epochs=1, name="other", seed=7), progress=False)
    shutil.copy(ckpt.list_checkpoints(other)[-1], run / "checkpoints" / "state-00000004.pt")


DAMAGE = {  # what is done to the run -> the file verify must call bad, and what it must say
    "truncated checkpoint": (lambda run, _: truncate(run / "checkpoints/state-00000008.pt"),
                             "checkpoints/state-00000008.pt", "is not a readable checkpoint"),
    "flipped byte in a checkpoint": (lambda run, _: flip_a_byte(run / "checkpoints/state-00000008.pt"),
                                     "checkpoints/state-00000008.pt", "do not match the checksum"),
    "empty checkpoint": (lambda run, _: (run / "checkpoints/state-00000012.pt").write_bytes(b""),
                         "checkpoints/state-00000012.pt", "is not a readable checkpoint"),
    "checkpoint from another run": (_from_another_run, "checkpoints/state-00000004.pt", "written by another run"),
    "missing config": (lambda run, _: (run / "config.json").unlink(), "config.json", "missing"),
    "flipped byte in the export": (lambda run, _: flip_a_byte(run / "generator.safetensors", offset=-100),
                                   "generator.safetensors", "do not match the checksum"),
    "missing export": (lambda run, _: (run / "generator.safetensors").unlink(), "generator.safetensors", "missing"),
    "torn log line": (lambda run, _: open(run / "log.jsonl", "a").write('{"step": 13, "d_lo'),
                      "log.jsonl", "line 7 of 7 is not a log record"),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_verify_reports_each_kind_of_damage_and_exits_1(three_checkpoints, tiny_config, capsys, kind):
    run = three_checkpoints
    assert main(["verify", str(run)]) == 0
    intact = capsys.readouterr().out
    assert "0 of 6 files damaged or missing; --resume uses state-00000012.pt" in intact and "BAD" not in intact
    damage, name, problem = DAMAGE[kind]
    damage(run, tiny_config)
    before = files_of(run)
    assert main(["verify", str(run)]) == 1
    out = capsys.readouterr().out
    bad = [line for line in out.splitlines() if "BAD" in line]
    assert len(bad) == 1 and bad[0].split()[0] == name and problem in bad[0], out
    assert "1 of 6 files damaged or missing" in out
    assert files_of(run) == before  # verify only reads
