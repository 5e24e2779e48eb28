"""One config object for training: :class:`TrainConfig` is the hyper-parameter table.

Every knob lives here exactly once, with its default and a one-line help string; the CLI derives
its flags from these fields, the notebook and app build the same object, and each run saves it as
``config.json``. Presets are named partial overrides on top of the defaults::

    >>> cfg = build_config("quick", {"epochs": 2})
    >>> cfg.preset, cfg.epochs, cfg.kimg, cfg.minutes, cfg.model.upsample
    ('quick', 2, 120.0, 30.0, 'resize')
    >>> build_config("paper").batch_size
    128
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from facegan.data import DEFAULT_CELEBA_DIR, DEFAULT_MNIST_DIR, DEFAULT_RESOLUTION, SYNTHETIC_COUNT
from facegan.errors import FaceganError, require_int_at_least
from facegan.evaluation.registry import DEFAULT_METRICS, METRIC_NAMES, parse_metric_names
from facegan.models import ARCHITECTURES, DISCRIMINATORS, config_class  # the registry (imports no torch)
from facegan.models.projected.config import ProjectedConfig
from facegan.options import check_choices, option, options, require_positive
from facegan.options import coerce as options_coerce

DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"
DEVICE_HELP = "device must be auto, cpu, cuda, cuda:N or mps"


_f = option  # the field helper, short: the table below is long

@dataclass
class TrainConfig:
    # --- data ---
    data: str = _f(DEFAULT_CELEBA_DIR, "image folder (recursive), a folder of MNIST's IDX files, or 'synthetic' / "
                   "'synthetic-digits' for the built-in faces / digits")
    synthetic_count: int = _f(SYNTHETIC_COUNT, "how many procedural faces or digits to render when data is synthetic")
    flip: bool = _f(True, "random horizontal flips of real images (off for digits: a mirrored digit is another glyph)")
    resolution: int = _f(DEFAULT_RESOLUTION, "side of the square images the data is decoded (or rendered) to")
    channels: int = _f(0, "image channels: 0 = the data's own (RGB for faces and image folders, 1 for digits); "
                       "1 converts to grayscale, 3 to RGB", (0, 1, 3))
    # --- model ---
    arch: str = _f("dcgan", "architecture (facegan.models registry)", ARCHITECTURES)
    model: Any = field(default=None, metadata={"help": "the architecture's own settings (facegan.models.<arch>."
                                                       "config); None = its defaults", "choices": None})
    latent_dim: int = _f(256, "size of the latent vector z")
    disc: str = _f("native", "discriminator: the architecture's own (native), a projected D on frozen pretrained "
                   "EfficientNet-Lite0 features (projected), or both side by side (native+projected)", DISCRIMINATORS)
    projected: Any = field(default=None, metadata={"help": "the projected discriminator's settings "
                                                           "(facegan.models.projected.config); None = its defaults",
                                                   "choices": None})
    init_generator: str = _f("", "fine-tune: start G (and its EMA copy) from this generator export of the same "
                             "architecture and settings instead of random weights ('' = random)")
    # --- optimisation ---
    epochs: int = _f(50, "passes over the data")
    minutes: float = _f(0.0, "stop training after this many minutes of wall time, saving and exporting as "
                        "after an epoch (0 = no limit); a resumed run gets what its limit has left")
    kimg: float = _f(0.0, "train on this many thousand images, then stop as after an epoch (0 = no budget: epochs "
                     "and minutes decide)")
    fit_minutes: float = _f(0.0, "if the first steps show the run would take longer than this on this machine, "
                            "train a smaller job that fits (32 px, then fewer images) and say so (0 = never)")
    batch_size: int = _f(128, "images per step")
    lr_g: float = _f(2e-4, "generator Adam learning rate")
    lr_d: float = _f(1e-4, "discriminator Adam learning rate")
    beta1: float = _f(0.5, "Adam beta1")
    beta2: float = _f(0.999, "Adam beta2")
    loss: str = _f("bce", "adversarial loss: non-saturating BCE, Wasserstein, or hinge (Projected GAN's)",
                   ("bce", "wgan", "hinge"))
    gp_weight: float = _f(0.0, "WGAN-GP gradient penalty weight on D (0 = off)")
    drift_weight: float = _f(0.0, "epsilon drift: weight of the penalty mean(D(real)^2) that keeps WGAN's D outputs "
                             "near 0 (ProGAN: 0.001; 0 = off)")
    r1_gamma: float = _f(0.0, "R1 penalty weight gamma on D's gradients at real images, loss gamma/2 * "
                         "E||grad D(x)||^2 (StyleGAN2's regulariser; its recipe: 0.0002 * resolution^2 / batch, "
                         "0.0256 at 64 px and batch 32; 0 = off)")
    r1_every: int = _f(16, "lazy regularisation: the R1 penalty every N D steps, weighted by N (official 16)")
    g_steps: int = _f(1, "generator steps per discriminator step")
    lr_step_size: int = _f(0, "StepLR: decay both learning rates every N epochs (0 = off)")
    lr_gamma: float = _f(0.5, "StepLR decay factor")
    ema_kimg: float = _f(0.0, "EMA generator: half-life of the average of G's weights, in thousands of "
                         "images (0 = off); samples, exports and eval then use the EMA generator")
    ema_rampup: float = _f(0.05, "EMA ramp-up: the half-life is at most this fraction of the images seen "
                           "so far (0 = none), so the random initial weights are forgotten quickly")
    grow_from: int = _f(0, "progressive growing: start at this side (4 in the paper) and double up to the data's "
                        "resolution, each new side fading in (needs --arch progan; 0 = off)")
    fade_kimg: float = _f(600.0, "progressive growing: thousands of images per fade-in (alpha 0 -> 1)")
    stable_kimg: float = _f(600.0, "progressive growing: thousands of images per stabilise phase")
    batch_by_side: str = _f("", "progressive growing: images per step at each side, e.g. '4:128,8:128,16:128,32:64' "
                            "(the paper's 1-GPU table); a side not listed uses batch_size")
    grow_reset_adam: bool = _f(True, "progressive growing: reset both optimisers' moments at each new side "
                               "(the paper's reset_opt_for_new_lod)")
    augment: str = _f("", "DiffAugment policy for every image D sees, real and fake: comma-separated "
                      "color, translation, cutout ('' = off)")
    ada_target: float = _f(0.0, "adaptive augmentation (StyleGAN2-ADA): apply each --augment operation with a "
                           "probability p that rises while r_t = E[sign D(real)] is above this target and falls "
                           "below it (official 0.6; 0 = off, every operation always)")
    ada_kimg: float = _f(100.0, "adaptive augmentation: thousands of images for p to move from 0 to 1 at the "
                         "fastest (official 500, for runs of millions of images)")
    # --- execution ---
    device: str = _f("auto", "auto picks cuda, then mps, then cpu; or cpu, cuda, cuda:N, mps")
    precision: str = _f("auto", "convolution precision: auto = bf16 where the hardware has it natively "
                        "(recent GPUs, AVX-512 BF16/AMX CPUs), else fp32; fp16 adds loss scaling (older GPUs). "
                        "Weights, BatchNorm statistics and losses stay fp32", ("auto", "fp32", "bf16", "fp16"))
    channels_last: bool = _f(True, "NHWC memory format (faster on CPU and with tensor cores; bench/RESULTS.md)")
    compile: bool = _f(False, "torch.compile G and D (slow first steps; falls back to eager if it cannot compile)")
    compile_mode: str = _f("default", "torch.compile mode; reduce-overhead adds CUDA graphs on CUDA",
                           ("default", "reduce-overhead", "max-autotune"))
    seed: int = _f(0, "seed for weights, data order, flips and noise")
    # --- outputs ---
    name: str = _f("dcgan", "run name: the run directory is runs_dir/NNN-name")
    runs_dir: str = _f("runs", "where run directories are created")
    cache_dir: str = _f("", "where decoded image caches go ('' = $FACEGAN_CACHE or ~/.cache/facegan)")
    log_every: int = _f(50, "steps between log lines / progress-bar updates")
    grid_size: int = _f(64, "images in the per-epoch sample grid (fixed z)")
    keep_checkpoints: int = _f(3, "how many training-state checkpoints to keep")
    metrics_every: int = _f(0, "evaluate quality metrics every N epochs and at the end (0 = off)")
    metrics: str = _f(DEFAULT_METRICS, f"comma-separated metrics for metrics_every: {', '.join(METRIC_NAMES)}")
    metrics_samples: int = _f(1024, "generated (and real) images per metrics evaluation")
    preset: str = _f("custom", "which preset built this config (informational)")

    def __post_init__(self) -> None:
        settings = config_class(self.arch) if self.arch in ARCHITECTURES else None
        if isinstance(self.model, dict) and settings:
            self.model = settings.from_dict(self.model)
        elif self.model is None and settings:
            self.model = settings()
        if isinstance(self.projected, dict):
            self.projected = ProjectedConfig.from_dict(self.projected)
        elif self.projected is None:
            self.projected = ProjectedConfig()
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # the architecture's settings under "model", the projected D's under "projected"

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """A saved config (config.json, a checkpoint's): nested, or flat as written before each architecture
        had its own settings (every architecture's keys side by side: those of ``arch`` are kept)."""
        values = dict(values)
        if "model" not in values:
            values = split_flat(values, from_preset=values)
        return cls(**coerce(values))


# Presets: named partial overrides, flat (each key a TrainConfig field or a setting of the preset's
# architecture). "paper" is the course project's table (the defaults: no EMA, no augmentation, transposed
# convolutions). "quick" is what a CPU gets: a narrow DCGAN with nearest-upsample + 3x3 convs, an EMA
# generator and DiffAugment, trained on a budget of images (QUICK_KIMG), not of minutes, so that a slow or busy
# machine trains the same job; it measures the machine in its first seconds and prints its plan, and scales
# the job down when the plan exceeds fit_minutes (the 30 minutes limit is a safety net). DiffAugment keeps D
# from overpowering G on the synthetic faces (without it their backgrounds collapse). Each choice's figures:
# bench/RESULTS.md (time_to_quality.py).
# ProGAN's recipe (the paper's config.py): growing from 4 px with the optimisers reset at each new side,
# WGAN-GP (lambda 10) with the drift term 0.001, Adam lr 1e-3 (0, 0.99), an EMA generator, batch 32.
PROGAN_RECIPE: dict[str, Any] = {"arch": "progan", "grow_from": 4, "batch_size": 32, "epochs": 1000, "loss": "wgan",
                                 "gp_weight": 10.0, "drift_weight": 0.001, "lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.0,
                                 "beta2": 0.99, "ema_kimg": 10.0}
# The quick preset's budget: the images after which its DCGAN draws recognisable built-in faces (bench/RESULTS.md,
# "The first five minutes"); fit_minutes scales it down on a machine too slow to train it in 15 minutes.
QUICK_KIMG = 120.0
JOB_SIZE_FLAGS = {"kimg", "minutes", "epochs", "resolution", "width"}  # given any, a run is not scaled down
RESUME_CHANGES = ("epochs", "device", "minutes", "kimg")  # what a resumed run may change: its budget and device
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"name": "paper", "metrics_every": 5},
    "quick": {
        "name": "quick",
        "width": 0.25,
        "batch_size": 64,
        "epochs": 100,
        "kimg": QUICK_KIMG,
        "minutes": 30.0,
        "fit_minutes": 15.0,
        "lr_d": 2e-4,
        "upsample": "resize",
        "ema_kimg": 10.0,
        "augment": "color,translation,cutout",
        "log_every": 20,
    },
    # StyleGAN2 on a GPU: the official recipe at 64 px ("auto" config of stylegan2-ada-pytorch: 2 mapping
    # layers, lr 0.0025, Adam (0, 0.99), R1 gamma 0.0002 * 64^2 / batch, EMA half-life batch * 10 / 32
    # kimg, style mixing 0.9) with channel_base 16384, DiffAugment for a small face set. Not yet measured
    # on a GPU (bench/RESULTS.md says what remains).
    "stylegan": {
        "name": "stylegan",
        "arch": "stylegan2",
        "w_dim": 512,
        "channel_base": 16384,
        "channel_max": 512,
        "batch_size": 64,
        "epochs": 100,
        "lr_g": 0.0025,
        "lr_d": 0.0025,
        "beta1": 0.0,
        "beta2": 0.99,
        "r1_gamma": 0.0128,
        "ema_kimg": 20.0,
        "augment": "color,translation,cutout",
        "metrics_every": 5,
    },
    # StyleGAN2 on a CPU: the same recipe with the smaller of the two networks measured, batch 32 (R1 gamma
    # scaled to it), 10 minutes of wall time, and no DiffAugment, which slowed it on real faces
    # (figures: bench/RESULTS.md, StyleGAN2 on a CPU).
    "stylegan-cpu": {
        "name": "stylegan-cpu",
        "arch": "stylegan2",
        "channel_base": 1024,
        "channel_max": 128,
        "batch_size": 32,
        "epochs": 100,
        "minutes": 10.0,
        "lr_g": 0.0025,
        "lr_d": 0.0025,
        "beta1": 0.0,
        "beta2": 0.99,
        "r1_gamma": 0.0256,
        "ema_kimg": 10.0,
        "augment": "",
        "log_every": 20,
    },
    # ProGAN on a GPU: the paper's recipe (tkarras/progressive_growing_of_gans config.py, preset-v2-1gpu) at
    # 64 px: growing from 4 px, 600k images per fade-in and per stabilise phase, the paper's networks
    # (fmap_base 8192, at most 512 maps) and its minibatch table: 128 at 4-16 px, 64 at 32, 32 at 64. Not
    # yet run on a GPU.
    "progan": {**PROGAN_RECIPE, "name": "progan", "fmap_base": 8192, "fmap_max": 512, "fade_kimg": 600.0,
               "stable_kimg": 600.0, "batch_by_side": "4:128,8:128,16:128,32:64", "metrics_every": 5},
    # ProGAN on a CPU: the same recipe with networks of the quick DCGAN's size (fmap_base 512: 64 maps at
    # 4-16 px, 16 at 64 px; 62 training img/s at 64 px on 2 cores, 206 at 16 px) and a schedule scaled to
    # minutes: 6k images per phase reach 64 px, faded in and stabilised, after 54k images (about 6 minutes),
    # then it stays there. Not tuned yet: bench/RESULTS.md ("ProGAN") has its one measurement.
    "progan-cpu": {**PROGAN_RECIPE, "name": "progan-cpu", "fmap_base": 512, "fmap_max": 64, "fade_kimg": 6.0,
                   "stable_kimg": 6.0, "minutes": 10.0, "log_every": 20},
    # The roadmap's first GAN: a fully connected G and D on 28x28 grayscale digits (MNIST when its files are
    # in ./mnist, else the built-in digits), from the recipe known to work for an MLP GAN on MNIST (LeakyReLU
    # 0.2, dropout in D, Adam (0.5, 0.999), non-saturating BCE), no flips (a mirrored digit is another
    # glyph), 5 minutes on a CPU. Each departure from it was kept because it raised the share of samples the
    # digit classifier recognises within those 5 minutes: BatchNorm in G and an EMA generator, halved widths
    # (twice the steps), batches of 256 at 4x the learning rate (the linear scaling rule), and less dropout
    # in D (it sat at chance). Every variant's figures: bench/RESULTS.md, "Digits".
    "digits": {
        "name": "digits",
        "arch": "mlp",
        "data": DEFAULT_MNIST_DIR,
        "synthetic_count": 30_000,
        "resolution": 28,
        "channels": 1,
        "flip": False,
        "latent_dim": 64,
        "mlp_hidden": "128,256,512",
        "mlp_dropout": 0.1,
        "mlp_batchnorm": True,
        "ema_kimg": 10.0,
        "batch_size": 256,
        "epochs": 200,
        "minutes": 5.0,
        "lr_g": 8e-4,
        "lr_d": 8e-4,
        "channels_last": False,
        "log_every": 100,
    },
}
# The shipped default generator's recipe (models/stylegan64.md; recipes/stylegan64.sh): stylegan-cpu for
# an hour or more of a CPU, with torch.compile (G only, because of R1) and adaptive augmentation (the
# StyleGAN2-ADA controller, target 0.6). `--preset auto` picks it on a CPU when --minutes is at least
# AUTO_LONG_CPU_MINUTES: from there it is at or below the DCGAN's best (bench/RESULTS.md).
PRESETS["stylegan-cpu-long"] = {**PRESETS["stylegan-cpu"], "name": "stylegan-cpu-long", "epochs": 1000, "minutes": 90.0,
                                "augment": "color,translation,cutout", "ada_target": 0.6, "compile": True}
PRESET_CHOICES = ("auto", *PRESETS)


def fields() -> list[dataclasses.Field]:
    """TrainConfig's own options (the loop's settings and the architecture's name; not ``model``)."""
    return options(TrainConfig)


def coerce(values: dict[str, Any]) -> dict[str, Any]:
    """Check names and types of TrainConfig values (``model`` a dict or an architecture's config, as is)."""
    nested = {k: values[k] for k in NESTED if k in values}
    return {**options_coerce(TrainConfig, {k: v for k, v in values.items() if k not in NESTED}), **nested}


NESTED = ("model", "projected")  # TrainConfig's fields that hold a settings dataclass, not an option


def split_flat(values: dict[str, Any], from_preset: dict[str, Any]) -> dict[str, Any]:
    """Flat values (a preset with overrides, or a config saved before each architecture had its own
    settings) -> TrainConfig's values with the architecture's settings nested under "model". Another
    architecture's settings are dropped where they came from ``from_preset`` (or an old flat file, which
    holds every architecture's) and refused where the user gave them."""
    arch = values.get("arch", TrainConfig.__dataclass_fields__["arch"].default)
    if arch not in ARCHITECTURES:
        raise FaceganError(f"arch must be one of {', '.join(ARCHITECTURES)} (got {arch!r})")
    own = {f.name for f in options(config_class(arch))}
    others = {f.name: name for name in ARCHITECTURES for f in options(config_class(name))}
    projected_keys = {f.name for f in options(ProjectedConfig)}
    loop, model, projected = {}, {}, {}
    for key, value in values.items():
        if key in own:
            model[key] = value
        elif key in projected_keys:
            projected[key] = value
        elif key in others:
            if key not in from_preset or from_preset[key] is not value:
                raise FaceganError(f"{key} is a setting of arch {others[key]}, not of {arch}; leave it out or "
                                   f"pass --arch {others[key]}")
        else:
            loop[key] = value
    return {**loop, "model": model, "projected": projected}


def validate(cfg: TrainConfig) -> None:
    """Reject values that cannot work, with a message naming the field and what is allowed. (The
    architecture's own settings checked themselves when ``cfg.model`` was built.)"""
    check_choices(cfg)
    for name in ["synthetic_count", "resolution", "latent_dim", "epochs", "batch_size", "g_steps", "log_every",
                 "grid_size", "keep_checkpoints", "metrics_samples", "r1_every"]:
        require_int_at_least(name, getattr(cfg, name))
    require_positive(cfg, "lr_g", "lr_d", "lr_gamma")
    for name in ["beta1", "beta2"]:
        if not 0 <= getattr(cfg, name) < 1:
            raise FaceganError(f"{name} must be in [0, 1) (got {getattr(cfg, name)})")
    check_growing(cfg)
    if cfg.drift_weight < 0:
        raise FaceganError(f"drift_weight must be >= 0 (got {cfg.drift_weight})")
    if cfg.gp_weight < 0 or cfg.lr_step_size < 0 or cfg.metrics_every < 0 or cfg.ema_kimg < 0 or cfg.ema_rampup < 0 \
            or cfg.minutes < 0 or cfg.kimg < 0 or cfg.fit_minutes < 0:
        raise FaceganError("gp_weight, lr_step_size, metrics_every, ema_kimg, ema_rampup, minutes, kimg and "
                           "fit_minutes must be >= 0")
    if cfg.r1_gamma < 0:
        raise FaceganError(f"r1_gamma must be >= 0 (got {cfg.r1_gamma})")
    if not isinstance(cfg.model, config_class(cfg.arch)):
        raise FaceganError(f"model must hold the settings of arch {cfg.arch} (got {type(cfg.model).__name__})")
    check_discriminator(cfg)
    for batch in {cfg.batch_size, *batch_table(cfg.batch_by_side).values()}:
        cfg.model.check_training(batch)
    augment_policy(cfg.augment)  # raises on an unknown operation
    check_adaptive_augment(cfg)
    metric_names(cfg)  # raises on an unknown metric
    if not re.fullmatch(DEVICE_PATTERN, cfg.device):
        raise FaceganError(f"{DEVICE_HELP} (got {cfg.device!r})")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", cfg.name):
        raise FaceganError(f"name may use letters, digits, '.', '_' and '-' only (got {cfg.name!r})")


def check_schedule(start: int, final: int, fade_kimg: float, stable_kimg: float) -> None:
    """One line for each value a growth schedule cannot use."""
    if fade_kimg < 0 or stable_kimg < 0 or not math.isfinite(fade_kimg + stable_kimg):
        raise FaceganError(f"fade_kimg and stable_kimg are thousands of images, 0 or more (got {fade_kimg:g} and "
                           f"{stable_kimg:g})")
    if start < 4 or start & (start - 1) or start > final:
        raise FaceganError(f"grow_from must be a power of two from 4 up to the resolution {final} (got {start}); "
                           "0 = no growing")


def batch_table(text: str) -> dict[int, int]:
    """'4:128,8:64' -> {4: 128, 8: 64}: images per step at each side of a growing run ('' -> {}).

    >>> batch_table("4:128, 32:64")
    {4: 128, 32: 64}
    """
    table = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        side, _, batch = item.partition(":")
        if not (side.strip().isdigit() and batch.strip().isdigit()) or int(side) in table:
            raise FaceganError(f"batch_by_side must be distinct side:batch pairs, e.g. '4:128,8:128,32:64' "
                               f"(got {text!r})")
        side, batch = int(side), int(batch)
        if side < 4 or side & (side - 1) or batch < 1:
            raise FaceganError(f"batch_by_side: each side is a power of two from 4 and each batch 1 or more "
                               f"(got {side}:{batch})")
        table[side] = batch
    return table


def check_growing(cfg: TrainConfig) -> None:
    """Growing needs an architecture that grows and a schedule it can follow."""
    if cfg.fade_kimg < 0 or cfg.stable_kimg < 0 or not math.isfinite(cfg.fade_kimg + cfg.stable_kimg):
        check_schedule(4, 4, cfg.fade_kimg, cfg.stable_kimg)  # raises, naming them
    table = batch_table(cfg.batch_by_side)
    if table and not cfg.grow_from:
        raise FaceganError("--batch-by-side sets the batch at each side of a growing run: it needs --grow-from")
    if not cfg.grow_from:
        return
    if not cfg.model.GROWS:
        raise FaceganError(f"--grow-from needs an architecture that grows (progan); {cfg.arch} does not")
    check_schedule(cfg.grow_from, cfg.resolution, cfg.fade_kimg, cfg.stable_kimg)


def check_discriminator(cfg: TrainConfig) -> None:
    """Projected-D settings only with a projected D; and a projected D sees the whole image at one side, so
    it cannot follow a growing schedule."""
    if not isinstance(cfg.projected, ProjectedConfig):
        raise FaceganError(f"projected must hold the projected discriminator's settings (got "
                           f"{type(cfg.projected).__name__})")
    if cfg.disc == "native" and cfg.projected != ProjectedConfig():
        changed = [f.name for f in options(ProjectedConfig) if getattr(cfg.projected, f.name) != f.default]
        raise FaceganError(f"{', '.join(changed)} set the projected discriminator, which this run does not use: "
                           "add --disc projected (or native+projected), or leave them out")
    if cfg.disc != "native" and cfg.grow_from:
        raise FaceganError(f"--disc {cfg.disc} does not grow with the images: use --disc native with --grow-from")


def check_adaptive_augment(cfg: TrainConfig) -> None:
    """ADA needs operations to apply, a target r_t can cross and a positive speed."""
    if not 0 <= cfg.ada_target < 1 or not cfg.ada_kimg > 0:
        raise FaceganError(f"ada_target is a share from 0 up to 1 (0.6 in StyleGAN2-ADA; 0 = off) and ada_kimg more "
                           f"than 0 (got {cfg.ada_target:g} and {cfg.ada_kimg:g})")
    if cfg.ada_target and not cfg.augment:
        raise FaceganError("--ada-target sets how often the --augment operations apply: give them too, e.g. "
                           "--augment color,translation,cutout")


AUGMENT_OPS = ("color", "translation", "cutout")


def augment_policy(text: str) -> tuple[str, ...]:
    """'color,cutout' -> ('color', 'cutout'), in the order given; '' -> ()."""
    ops = tuple(op.strip() for op in text.split(",") if op.strip())
    unknown = [op for op in ops if op not in AUGMENT_OPS]
    if unknown or len(set(ops)) != len(ops):
        raise FaceganError(f"augment must be a comma-separated list of distinct {', '.join(AUGMENT_OPS)} "
                           f"(got {text!r})")
    return ops


def default(name: str) -> Any:
    """A field's default, so callers outside TrainConfig do not repeat it.

    >>> default("synthetic_count")
    10000
    """
    return TrainConfig.__dataclass_fields__[name].default


def metric_names(cfg: TrainConfig) -> tuple[str, ...]:
    return parse_metric_names(cfg.metrics)


AUTO_LONG_CPU_MINUTES = 60.0  # a CPU run this long or longer: stylegan-cpu-long overtakes quick (RESULTS.md)


def resolve_preset(preset: str, device_type: str, minutes: float | None = None) -> str:
    """'auto' means the paper model on an accelerator; on a CPU the quick DCGAN (its 5 minutes, or any
    --minutes below AUTO_LONG_CPU_MINUTES) and the shipped StyleGAN2 recipe for longer time limits."""
    if preset == "auto":
        if device_type in ("cuda", "mps"):
            return "paper"
        return "stylegan-cpu-long" if minutes is not None and minutes >= AUTO_LONG_CPU_MINUTES else "quick"
    if preset not in PRESETS:
        raise FaceganError(f"unknown preset {preset!r}; choose one of {', '.join(PRESET_CHOICES)}")
    return preset


def build_config(preset: str = "paper", overrides: dict[str, Any] | None = None,
                 device_type: str = "cpu") -> TrainConfig:
    """Defaults <- preset <- explicit overrides, validated once at the end. Both are flat: each key is a
    TrainConfig field or a setting of the chosen architecture (e.g. ``{"width": 0.5}`` for dcgan)."""
    overrides = dict(overrides or {})
    name = resolve_preset(preset, device_type, overrides.get("minutes"))
    if "fit_minutes" not in overrides and overrides.keys() & JOB_SIZE_FLAGS:
        overrides["fit_minutes"] = 0.0  # the user sized the job: train what was asked, however long it takes
    return config_from_flat({**PRESETS[name], **overrides, "preset": name}, from_preset=PRESETS[name])


def config_from_flat(values: dict[str, Any], from_preset: dict[str, Any] | None = None) -> TrainConfig:
    """A TrainConfig from flat values: its own options and the architecture's settings side by side
    (``{"arch": "dcgan", "width": 0.5, "epochs": 3}``); no preset.

    >>> config_from_flat({"width": 0.5, "epochs": 3}).model
    DCGANConfig(width=0.5, upsample='transpose')
    """
    return TrainConfig(**coerce(split_flat(values, from_preset or {})))
