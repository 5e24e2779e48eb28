"""A run's set-up: :func:`setup` builds the :class:`Parts` of one run (networks, EMA copy, optimisers,
precision, schedulers, random streams, augmentation hook), tuning CUDA and compiling the networks on the way.

:func:`eager_fallback` is the context the compiled networks train in (a graph that fails to compile runs
eagerly). A checkpoint (``facegan.training.state``) restores into the parts built here; the steps that
train them are :mod:`facegan.training.steps`.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn

from facegan.config import TrainConfig, augment_policy, batch_table
from facegan.interop.export import load_generator_weights
from facegan.models import build_models
from facegan.models.contract import set_random_stream
from facegan.training.amp import Amp
from facegan.training.amp import resolve as resolve_precision
from facegan.training.augment import Augment, make_augment
from facegan.training.ema import EMA
from facegan.training.schedule import GrowthSchedule


@dataclass
class Parts:
    """The networks, optimisers and random streams of one run: built by :func:`setup`, saved in and
    restored from checkpoints. ``G_train``/``D_train`` are what the steps call: DistributedDataParallel
    wrappers under torchrun, else ``G``/``D`` themselves."""
    cfg: TrainConfig
    device: torch.device
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    amp: Amp
    schedulers: list
    ema: EMA | None
    rng: torch.Generator  # the run's random stream, on the device: z, flips, augmentation, GP mixing, G's noise
    augment: Augment  # every image D sees passes through this hook
    memory_format: torch.memory_format
    mark_step: Callable[[], None]  # CUDA graphs: "a new step begins" (a no-op elsewhere)
    world: int = 1  # processes training together (images per step = world x batch)
    schedule: GrowthSchedule | None = None  # progressive growing: the phase at each image count
    G_train: nn.Module | None = None
    D_train: nn.Module | None = None

    def __post_init__(self) -> None:
        self.G_train = self.G_train or self.G
        self.D_train = self.D_train or self.D

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw samples, grids, exports and metrics from: the EMA one if the run has it."""
        return self.ema.average if self.ema else self.G

    def critic(self, images: torch.Tensor) -> torch.Tensor:
        """D's logits for images after the augmentation hook (what every D call in training goes through)."""
        return self.D_train(self.augment(images))


def setup(cfg: TrainConfig, channels: int, resolution: int, device: torch.device,
          say: Callable[..., None] = print, world: int = 1, rng_seed: int | None = None,
          resuming: bool = False) -> Parts:
    """Build G, D (seeded by cfg.seed), the EMA copy, optimisers, precision, schedulers and the
    augmentation hook for images of shape (channels, resolution, resolution) on ``device``. A new run
    with cfg.init_generator starts G from that export (``resuming``: the checkpoint will overwrite it)."""
    tune_cuda(device)
    torch.manual_seed(cfg.seed)  # weight init
    G, D = build_models(cfg, channels, resolution)
    if cfg.init_generator and not resuming:
        load_generator_weights(G, cfg.init_generator)  # fine-tuning: the EMA copy below starts from them too
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    G.to(device, memory_format=memory_format)
    D.to(device, memory_format=memory_format)
    ema = EMA(G, cfg.ema_kimg, cfg.ema_rampup) if cfg.ema_kimg > 0 else None  # before compile: a plain copy
    if cfg.compile:
        double_backward = cfg.gp_weight > 0 or cfg.r1_gamma > 0  # compiled graphs cannot be differentiated twice
        if double_backward:
            say("note: with a gradient penalty (--gp-weight or --r1-gamma), torch.compile runs on G only "
                "(the penalty differentiates D twice)")
        compile_modules(say, cfg.compile_mode, *((G,) if double_backward else (G, D)))
    opt_g = adam(G, cfg.lr_g, cfg, device)
    opt_d = adam(D, cfg.lr_d, cfg, device)
    precision, _ = resolve_precision(cfg.precision, device)
    schedulers = ([torch.optim.lr_scheduler.StepLR(o, cfg.lr_step_size, cfg.lr_gamma) for o in (opt_g, opt_d)]
                  if cfg.lr_step_size > 0 else [])
    rng = torch.Generator(device).manual_seed(cfg.seed + 1 if rng_seed is None else rng_seed)
    for net in (G, D):  # style G's per-pixel noise and mixing, mlp D's dropout: drawn from the run's stream
        set_random_stream(net, rng)
    schedule = (GrowthSchedule(cfg.grow_from, resolution, cfg.fade_kimg, cfg.stable_kimg,
                               batch_table(cfg.batch_by_side)) if cfg.grow_from else None)
    augment = make_augment(augment_policy(cfg.augment), rng, memory_format, cfg.ada_target, cfg.ada_kimg)
    return Parts(cfg, device, G, D, opt_g, opt_d, Amp(precision, device, [opt_g, opt_d]), schedulers, ema, rng,
                 augment, memory_format, cudagraph_step_marker(cfg, device), world, schedule)


def adam(module: nn.Module, lr: float, cfg: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam as the course project sets it up; fused (one kernel for all parameters) on CUDA and CPU, which
    bench/step_profile.py measured faster than the default multi-tensor step (bench/RESULTS.md)."""
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(cfg.beta1, cfg.beta2), **fused)


def tune_cuda(device: torch.device) -> None:
    """cuDNN picks the fastest convolution algorithms for our fixed shapes (measured once per shape);
    fp32 matmuls may use TF32 tensor cores, as cuDNN convolutions already do by default."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")


def compile_modules(say: Callable, mode: str, *modules: nn.Module) -> None:
    """torch.compile in place (state_dict keys unchanged, so checkpoints stay compatible). Compiling
    is lazy: it happens at the first calls, inside :func:`eager_fallback`. Mode "reduce-overhead"
    adds CUDA graphs on CUDA (one replay per module call instead of one launch per kernel)."""
    if not hasattr(torch.nn.Module, "compile"):
        say(f"note: this torch ({torch.__version__}) has no Module.compile; training eagerly")
        return
    import torch._dynamo as dynamo

    # Each layer instance (another width, so other parameter shapes) is one more compilation of the
    # same forward: the default limit of 8 left the style generator's later layers eager.
    dynamo.config.recompile_limit = max(dynamo.config.recompile_limit, 64)
    for module in modules:
        module.compile(mode=mode)
    say(f"torch.compile: on, mode {mode} (the first steps compile, which takes a while)")


@contextlib.contextmanager
def eager_fallback(enabled: bool) -> Iterator[None]:
    """While training with torch.compile: a graph that fails to compile runs eagerly instead of
    stopping the run (dynamo's suppress_errors). The process-wide switch is restored afterwards, so
    it does not leak into a notebook kernel."""
    if not enabled:
        yield
        return
    import torch._dynamo as dynamo

    previous = dynamo.config.suppress_errors
    dynamo.config.suppress_errors = True
    try:
        yield
    finally:
        dynamo.config.suppress_errors = previous


def cudagraph_step_marker(cfg: TrainConfig, device: torch.device) -> Callable[[], None]:
    """With CUDA graphs (compile mode reduce-overhead on CUDA), tell them where a training step
    begins, so the previous step's graph outputs may be overwritten; otherwise a no-op."""
    if cfg.compile and cfg.compile_mode == "reduce-overhead" and device.type == "cuda":
        return torch.compiler.cudagraph_mark_step_begin
    return lambda: None
