"""A full disk, as a user's bad day goes: a run on a small filesystem (a tmpfs mounted in a mount
namespace of its own, so nothing outside the test sees it) whose disk fills up stops with one line that
says what could not be written and that the newest checkpoint is intact, and resumes from it once there
is room. Also: every atomic write fsyncs, and a failed JSON-lines append leaves no half line."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facegan.errors import FaceganError
from facegan.fileio import WriteFailed, append_jsonl, atomic_path

REPO = Path(__file__).resolve().parent.parent
TINY = "--data synthetic --synthetic-count 32 --width 0.125 --latent-dim 16 --batch-size 16 --log-every 1 " \
       "--grid-size 4 --device cpu --no-progress --seed 3"
SCRIPT = """
set -u
mount -t tmpfs -o size=24m tmpfs "$DISK" || exit 90
cd "$WORK"
python -m facegan train $TINY --epochs 1 --runs-dir "$DISK/runs" > "$WORK/first.out" 2>&1; echo "first=$?"
sha256sum "$DISK"/runs/001-*/checkpoints/state-*.pt > "$WORK/before.sha"
free_kb=$(df --output=avail -k "$DISK" | tail -1)  # fill the disk, leaving $LEAVE_KB
dd if=/dev/zero of="$DISK/filler" bs=1K count=$((free_kb - LEAVE_KB)) 2>/dev/null
python -m facegan train --resume "$DISK"/runs/001-* --epochs 3 > "$WORK/full.out" 2> "$WORK/full.err"; echo "full=$?"
sha256sum "$DISK"/runs/001-*/checkpoints/state-*.pt > "$WORK/after.sha"
ls -a "$DISK"/runs/001-*/checkpoints > "$WORK/after.ls"
cp -r "$DISK"/runs/001-* "$WORK/moved"  # the run, moved to a disk with room
"""


@pytest.mark.parametrize("leave_kb, fails_on", [(0, "config.json"), (300, ".pt")])
def test_a_full_disk_stops_the_run_with_one_line_and_it_resumes_elsewhere(tmp_path, leave_kb, fails_on):
    """No room at all: the first write of the resumed run fails (its config); 300 kB left: the small files
    fit and the checkpoint (torch.save, whose C++ writer reports a RuntimeError) does not."""
    disk, work = tmp_path / "disk", tmp_path / "work"
    disk.mkdir(), work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISK": str(disk), "WORK": str(work), "TINY": TINY,
           "LEAVE_KB": str(leave_kb)}
    done = subprocess.run(["unshare", "--mount", "sh", "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600)
    assert "first=0" in done.stdout, (done.stdout, done.stderr, (work / "first.out").read_text())
    assert "full=2" in done.stdout, (done.stdout, (work / "full.err").read_text())
    err = (work / "full.err").read_text().strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert err[0].startswith("facegan train: error: could not write ")
    assert err[0].split(":")[2].strip().endswith(fails_on), err[0]
    assert "No space left on device" in err[0] or "no space left on the device" in err[0], err[0]
    assert "its newest checkpoint state-" in err[0] and "is intact" in err[0] and "facegan train --resume" in err[0]
    assert (work / "before.sha").read_text() == (work / "after.sha").read_text()  # the checkpoint untouched
    assert not [n for n in (work / "after.ls").read_text().split() if n.endswith(".tmp.pt")]  # no debris
    moved = work / "moved"
    resumed = subprocess.run([sys.executable, "-m", "facegan", "train", "--resume", str(moved), "--epochs", "3"],
                             env=env, capture_output=True, text=True, timeout=600, cwd=work)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {moved} at epoch 2" in resumed.stdout
    steps = [json.loads(line)["step"] for line in (moved / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and len(steps) == 6  # 2 steps per epoch, no line doubled or lost


def test_atomic_writes_fsync_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")) or real(fd))
    with atomic_path(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"data")
    assert (tmp_path / "out.bin").read_bytes() == b"data"
    assert synced[0].endswith(".tmp.bin") and synced[1] == str(tmp_path)  # the data, then the rename


def test_a_failed_write_keeps_the_old_file_and_says_which(tmp_path):
    target = tmp_path / "kept.txt"
    target.write_text("old")
    with pytest.raises(WriteFailed, match=f"could not write {target}: No space left on device"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]
    with pytest.raises(FaceganError, match="could not write"):  # torch's C++ writer: a RuntimeError
        with atomic_path(target):
            raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 vs 0 basic_ios::clear: "
                               "iostream error")
    with pytest.raises(RuntimeError, match="shape mismatch"):  # other errors pass through unchanged
        with atomic_path(target):
            raise RuntimeError("shape mismatch")
    assert target.read_text() == "old"


def test_a_failed_append_leaves_no_half_line(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    append_jsonl(log, {"step": 1})
    real_write = os.write

    def disk_fills(fd, data):  # writes 5 bytes, then the disk is full
        if len(data) > 5:
            return real_write(fd, bytes(data[:5]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_fills)
    with pytest.raises(WriteFailed, match="No space left on device"):
        append_jsonl(log, {"step": 2, "d_loss": 0.5})
    monkeypatch.setattr(os, "write", real_write)
    assert log.read_text() == '{"step": 1}\n'


@pytest.fixture(autouse=True)
def _needs_unshare():
    assert shutil.which("unshare"), "util-linux's unshare is needed for the small-filesystem test"
