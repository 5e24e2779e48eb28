"""Mixed precision: which dtype the convolutions run in, and the optimiser step that goes with it.

``--precision auto`` (the default) turns bf16 autocast on only where the hardware runs bf16 natively,
because elsewhere it is slower than fp32, not faster:

- CUDA: bf16 when the GPU supports it (Ampere and newer), else fp32 (fp16 is the option there);
- CPU: bf16 when oneDNN has native bf16 kernels (AVX-512 BF16 or AMX); on an AVX2-only CPU bf16 is
  emulated and many times slower than fp32 (figures in bench/RESULTS.md), so fp32;
- MPS: fp32.

Under autocast the weights, BatchNorm's running statistics and the losses stay fp32 (facegan.training.losses
casts the logits to fp32); activations are bf16/fp16. fp16 needs loss scaling to keep small gradients from
flushing to zero: one GradScaler per optimiser, because D's and G's gradients have different ranges;
the WGAN-GP penalty, whose inner gradient no scaler covers, runs in fp32 then.
"""
from __future__ import annotations

import contextlib

import torch

from facegan.errors import FaceganError

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def native_bf16(device: torch.device) -> bool:
    """True when bf16 convolutions run on dedicated hardware on ``device`` (not emulated)."""
    if device.type == "cuda":
        # Not torch.cuda.is_bf16_supported(): by default it also says True where bf16 is only emulated.
        return bool(torch.version.hip) or torch.cuda.get_device_properties(device).major >= 8  # Ampere+
    if device.type == "cpu":
        try:
            return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # a build without oneDNN
            return False
    return False


def resolve(requested: str, device: torch.device) -> tuple[str, str | None]:
    """(precision to use, a note for the user or None). ``requested``: auto, fp32, bf16 or fp16."""
    if requested == "auto":
        return ("bf16" if native_bf16(device) else "fp32"), None
    if requested not in DTYPES:
        raise FaceganError(f"precision must be auto, fp32, bf16 or fp16 (got {requested!r})")
    if requested == "bf16" and device.type in ("cpu", "cuda") and not native_bf16(device):
        return requested, (f"note: this {device.type.upper()} has no native bf16 (needs AVX-512 BF16/AMX on a CPU, "
                           "Ampere or newer on a GPU): it is emulated and much slower than fp32; --precision auto "
                           "picks for you")
    if requested == "fp16" and device.type == "cpu":
        return requested, "note: fp16 is meant for older GPUs; on a CPU it is emulated and slow"
    return requested, None


class Amp:
    """The autocast context and the optimiser step for one run's precision.

    Under bf16 a matmul runs in bf16; fp32 leaves it alone; under fp16 the gradient penalty's
    ``double_backward`` code stays fp32:

    >>> cpu, x = torch.device("cpu"), torch.ones(2, 2)
    >>> with Amp("bf16", cpu, []).autocast():
    ...     y = x @ x
    >>> y.dtype
    torch.bfloat16
    >>> with Amp("fp32", cpu, []).autocast():
    ...     y = x @ x
    >>> y.dtype
    torch.float32
    >>> with Amp("fp16", cpu, []).autocast(double_backward=True):
    ...     y = x @ x
    >>> y.dtype
    torch.float32
    """

    def __init__(self, precision: str, device: torch.device, optimizers: list[torch.optim.Optimizer]):
        self.precision, self.device_type = precision, device.type
        self.dtype = DTYPES[precision]
        # fp16 only: a loss scaler per optimiser, in the order given (the checkpoint keeps that order)
        self.scalers = ([torch.amp.GradScaler(device.type) for _ in optimizers] if precision == "fp16" else [])
        self._scaler_of = {id(opt): s for opt, s in zip(optimizers, self.scalers)}

    def autocast(self, double_backward: bool = False) -> contextlib.AbstractContextManager:
        """Autocast to this run's dtype. ``double_backward``: for code that differentiates twice (the
        gradient penalty), which runs in fp32 under fp16: its inner gradient is not loss-scaled and
        would underflow or overflow in fp16's narrow range. bf16 has fp32's range and stays on."""
        if self.dtype is None or (double_backward and self.dtype == torch.float16):
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        scaler = self._scaler_of.get(id(optimizer))
        (scaler.scale(loss) if scaler else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """optimizer.step(); with fp16, skipped when the scaled gradients overflowed (then the scale halves)."""
        scaler = self._scaler_of.get(id(optimizer))
        if scaler is None:
            optimizer.step()
            return
        scaler.step(optimizer)  # unscales first (a non-fused optimiser makes it read one flag from the device)
        scaler.update()

    def state_dict(self) -> list[dict]:
        return [s.state_dict() for s in self.scalers]

    def load_state_dict(self, states: list[dict] | None) -> None:
        if states and len(states) == len(self.scalers):  # a run saved in another precision starts fresh scales
            for scaler, state in zip(self.scalers, states):
                scaler.load_state_dict(state)
