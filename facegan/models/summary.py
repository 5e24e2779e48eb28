"""Architecture-independent views of a model: parameter counts and a layer table."""
from __future__ import annotations

import torch
from torch import nn


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _short(layer: nn.Module) -> str:
    """'ConvTranspose2d 512->256 k4 s2 p1', 'Linear 784->1024', 'BatchNorm2d(256)', 'LeakyReLU(0.2)'."""
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        return (f"{type(layer).__name__} {layer.in_channels}->{layer.out_channels} "
                f"k{layer.kernel_size[0]} s{layer.stride[0]} p{layer.padding[0]}")
    if isinstance(layer, nn.Linear):
        return f"Linear {layer.in_features}->{layer.out_features}"
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return f"{type(layer).__name__}({layer.num_features})"
    if isinstance(layer, nn.LeakyReLU):
        return f"LeakyReLU({layer.negative_slope})"
    if isinstance(layer, nn.Upsample):
        return f"Upsample(x{layer.scale_factor:g}, {layer.mode})"
    if hasattr(layer, "p") and "Dropout" in type(layer).__name__:
        return f"Dropout({layer.p:g})"
    return type(layer).__name__


@torch.no_grad()
def layer_table(module: nn.Module, input_shape: tuple[int, ...]) -> str:
    """A text table of the module's top-level layers (``module.net`` if it has one, else its children):
    each layer, its output shape and parameter count, for an input of ``input_shape``."""
    body = getattr(module, "net", module)
    rows: list[tuple[str, str, str, int]] = []
    hooks = [layer.register_forward_hook(
        lambda m, args, out, name=name: rows.append((name, _short(m), str(tuple(out.shape)), count_parameters(m))))
        for name, layer in body.named_children()]
    was_training = module.training
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    try:
        module.eval()
        module(torch.zeros(input_shape, device=device))
    finally:
        module.train(was_training)
        for hook in hooks:
            hook.remove()
    width = max(len(r[1]) for r in rows)
    lines = [f"{'#':>3}  {'layer':<{width}}  {'output shape':<18} {'params':>10}"]
    lines += [f"{n:>3}  {layer:<{width}}  {shape:<18} {p:>10,}" for n, layer, shape, p in rows]
    lines.append(f"{'':>3}  {'total':<{width}}  {'':<18} {count_parameters(module):>10,}")
    return "\n".join(lines)
