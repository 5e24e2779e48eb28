"""Data-parallel training across processes started by torchrun (NCCL on CUDA, gloo on CPU).

Every rank holds the same G and D (same seed; DistributedDataParallel also broadcasts rank 0's
weights when it wraps them), trains on its own shard of each epoch's permutation, and DDP averages
the gradients in buckets while the backward pass runs, so the weights stay identical everywhere.

The trainer runs D through its DDP wrapper two or three times (real, fake, and the WGAN-GP
interpolates) before one backward: DDP allows that, since each parameter's gradient is summed by
autograd before DDP's hook sees it once. The G step runs D's plain module with D's weights frozen,
so only G's gradients are reduced then. BatchNorm running statistics are not broadcast at every
forward (that would keep rank 0's only); they are averaged over the ranks at each epoch end.

    torchrun --nproc_per_node 2 -m facegan train --device cpu ...
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def setup(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group torchrun describes (WORLD_SIZE > 1); else a single-process DistInfo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info, device


def backend() -> str:
    return dist.get_backend() if active() else "none"


def teardown() -> None:
    """Leave the process group once every rank has finished its collectives."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` in DistributedDataParallel under torchrun; ``module`` itself in one process."""
    if not active():
        return module
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    # No buffer broadcast at each forward (newer torch renames that switch). The buffers start equal
    # on every rank anyway: same seed, or the same checkpoint.
    no_forward_sync = ({"forward_sync_buffers": False}
                       if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                       else {"broadcast_buffers": False})
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                   **no_forward_sync)


def average_buffers(module: nn.Module) -> None:
    """Mean of the floating-point buffers (BatchNorm running statistics) over the ranks."""
    if not active():
        return
    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer /= dist.get_world_size()


def reduce_(tensor: torch.Tensor, op: str = "mean") -> torch.Tensor:
    """In-place mean, sum or max over the ranks (no-op in one process)."""
    if active():
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
        if op == "mean":
            tensor /= dist.get_world_size()
    return tensor


def broadcast_object(obj):
    """Rank 0's value of ``obj`` on every rank."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def weights_in_sync(*modules: nn.Module) -> bool:
    """True when every rank holds bit-identical parameters. The ranks compare digests of the parameters'
    bytes, not a sum of their values: a sum misses two swapped weights or differences that cancel."""
    if not active():
        return True
    digests: list[str | None] = [None] * dist.get_world_size()
    dist.all_gather_object(digests, parameter_digest(*modules))
    return len(set(digests)) == 1


def parameter_digest(*modules: nn.Module) -> str:
    """SHA-256 of every parameter's dtype, shape and bytes, in order (on the CPU: any dtype, any device)."""
    h = hashlib.sha256()
    for module in modules:
        for p in module.parameters():
            h.update(f"{p.dtype}{tuple(p.shape)}".encode())
            h.update(p.detach().reshape(-1).view(torch.uint8).cpu().numpy().tobytes())
    return h.hexdigest()
