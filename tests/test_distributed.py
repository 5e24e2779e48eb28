"""torchrun with 2 CPU processes (gloo on 127.0.0.1): completes, ranks stay in sync, rank 0 alone writes."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--data", "synthetic", "--synthetic-count", "64", "--width", "0.125", "--latent-dim", "16",
        "--batch-size", "8", "--log-every", "2", "--grid-size", "4", "--device", "cpu", "--no-progress"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
               f"--master_port={free_port()}", "-m", "facegan", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_two_process_training_and_resume(tmp_path):
    done = torchrun("train", "--preset", "quick", "--epochs", "1", "--name", "ddp", *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "2 processes x batch 8 = effective batch 16" in out
    assert "(DistributedDataParallel, gloo)" in out
    assert "ranks in sync: G and D weights identical on 2 processes" in out
    assert out.count("done: 1 epoch,") == 1  # rank 0 alone reports
    runs = sorted((tmp_path / "runs").iterdir())
    assert [r.name for r in runs] == ["001-ddp"]  # rank 0 alone creates the run directory
    run = runs[0]
    records = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]  # 64 images / 2 ranks / batch 8 = 4 steps, logged once each
    assert (run / "samples" / "epoch_001.png").is_file() and (run / "generator.safetensors").is_file()

    resumed = torchrun("train", "--resume", str(run), "--epochs", "2", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming" in resumed.stdout and "identical on 2 processes" in resumed.stdout
    assert (run / "samples" / "epoch_002.png").is_file()
    assert [r["step"] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())] == [2, 4, 6, 8]


def test_two_processes_stay_in_sync_with_gradient_penalty_two_g_steps_and_fp16(tmp_path):
    """D runs three times (real, fake, GP interpolates) and G twice per step through the DDP wrappers;
    fp16 adds loss scaling. Without gradient averaging the ranks' weights would drift apart."""
    done = torchrun("train", "--epochs", "1", "--loss", "wgan", "--gp-weight", "10", "--g-steps", "2",
                    "--precision", "fp16", *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ranks in sync: G and D weights identical on 2 processes" in done.stdout
