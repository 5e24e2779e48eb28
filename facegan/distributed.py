"""Data-parallel training across processes started by torchrun (NCCL on CUDA, gloo on CPU).

Every rank holds the same G and D (same seed), trains on its own shard of each epoch's permutation,
and averages its gradients with the other ranks before every optimiser step, so the weights stay
identical everywhere. Gradients are averaged by one all-reduce per optimiser step over a flattened
copy, instead of by wrapping the models in DistributedDataParallel: a GAN step runs D twice (real
and fake) per backward, and WGAN-GP differentiates through D twice, neither of which DDP's reducer
(one forward per backward) supports. BatchNorm running statistics are averaged at each epoch end.

    torchrun --nproc_per_node 2 -m facegan train --device cpu ...
"""
from __future__ import annotations

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


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(optimizer: torch.optim.Optimizer) -> None:
    """Mean of every parameter gradient over the ranks, in one all-reduce (no-op in one process)."""
    if not active():
        return
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def average_buffers(module: nn.Module) -> None:
    """Mean of the floating-point buffers (BatchNorm running statistics) over the ranks."""
    if not active():
        return
    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer /= dist.get_world_size()


def reduce_(tensor: torch.Tensor, op: str = "mean") -> torch.Tensor:
    """In-place mean or max over the ranks (no-op in one process)."""
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
    """True when every rank holds bit-identical parameters (compares a checksum across ranks)."""
    if not active():
        return True
    checksum = torch.stack([p.detach().double().sum() for m in modules for p in m.parameters()])
    gathered = [torch.zeros_like(checksum) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, checksum)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])
