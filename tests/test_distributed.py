"""torchrun with 2 CPU processes (gloo on 127.0.0.1): completes, ranks stay in sync, rank 0 alone writes;
and the sync check itself, in a 2-process gloo group: it says False when one rank's weights differ."""
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from facegan.training import distributed

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--data", "synthetic", "--synthetic-count", "64", "--width", "0.125", "--latent-dim", "16",
        "--batch-size", "8", "--log-every", "2", "--grid-size", "4", "--device", "cpu", "--no-progress"]


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m facegan ARGS`` on 2 processes. The rendezvous store binds 127.0.0.1:0, so the kernel picks
    a free port and the store keeps it (a port found free and released first could be taken meanwhile);
    the ranks then join through that same store. Gloo talks over the loopback interface only."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GLOO_SOCKET_IFNAME": "lo"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
               "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0", f"--rdzv-id={uuid.uuid4().hex}",
               "--local-addr=127.0.0.1", "-m", "facegan", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_two_process_training_and_resume(tmp_path):
    done = torchrun("train", "--preset", "quick", "--epochs", "1", "--name", "ddp", *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "2 processes x batch 8 = effective batch 16" in out
    assert "(DistributedDataParallel, gloo)" in out
    assert "ranks in sync: G and D weights identical on 2 processes" in out
    assert out.count("done: 1 epoch of ") == 1  # rank 0 alone reports
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


# ----------------------------------------------------------------------------- weights_in_sync itself
def perturb(model: nn.Module, how: str) -> None:
    """Make this rank's weights differ from the other's in a way ``how`` names."""
    with torch.no_grad():
        w = model.weight.view(-1)
        if how == "one ulp":
            w[5] = torch.nextafter(w[5], torch.tensor(1.0))
        elif how == "swapped":  # same values, same sum, different weights
            w[[0, 1]] = w[[1, 0]]
        elif how == "cancelling":  # the sum of the parameters is unchanged
            w[2] += 0.25
            w[3] -= 0.25


def sync_verdicts(rank: int, world: int, store: str, out: str) -> None:
    """One rank of a gloo group (rendezvous through a file, no port): the verdicts for equal weights and
    for each way of making rank 1's differ, written to OUT/rank{rank}.json."""
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world,
                            timeout=timedelta(seconds=60))
    try:
        verdicts = {}
        for how in ("equal", "one ulp", "swapped", "cancelling"):
            torch.manual_seed(0)
            first, model = nn.Linear(2, 2), nn.Linear(4, 3)  # two modules, as the trainer checks G and D
            if rank == 1 and how != "equal":
                perturb(model, how)
            verdicts[how] = distributed.weights_in_sync(first, model)
        Path(out, f"rank{rank}.json").write_text(json.dumps(verdicts))
    finally:
        dist.destroy_process_group()


def test_weights_in_sync_says_false_when_one_rank_differs(tmp_path):
    """Two ranks of a real gloo group. The torchrun tests above only ever see True; here rank 1 changes
    one weight by one ulp, swaps two, or moves two by amounts that cancel in a sum, and every rank
    must hear False, while equal weights give True."""
    mp.spawn(sync_verdicts, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    expected = {"equal": True, "one ulp": False, "swapped": False, "cancelling": False}
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == expected, rank


def test_weights_in_sync_in_one_process_is_true():
    assert not distributed.active() and distributed.weights_in_sync(nn.Linear(2, 2))
