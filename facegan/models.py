"""DCGAN generator and discriminator for 64x64 RGB faces (Radford et al., 2015). No I/O here.

Contracts (DESIGN.md):
- Generator: z of shape (N, latent_dim) or (N, latent_dim, 1, 1) -> (N, 3, 64, 64) in [-1, 1].
- Discriminator: (N, 3, 64, 64) -> logits (N, 1, 1, 1); the sigmoid lives in the loss.
"""
from __future__ import annotations

import torch
from torch import nn

IMAGE_SIZE = 64
# Channels of the four 4x4-kernel stages at width 1.0 (the paper / seed architecture).
STAGE_CHANNELS = (64, 128, 256, 512)


def scaled_channels(width: float) -> list[int]:
    """Channel counts at a width multiplier; at least 1 channel per stage."""
    return [max(1, round(c * width)) for c in STAGE_CHANNELS]


def dcgan_init(module: nn.Module) -> None:
    """DCGAN init: conv weights ~ N(0, 0.02); BatchNorm gamma ~ N(1, 0.02), beta = 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    def __init__(self, latent_dim: int = 256, width: float = 1.0):
        super().__init__()
        self.latent_dim, self.width = latent_dim, width
        c64, c128, c256, c512 = scaled_channels(width)

        def up(c_in: int, c_out: int) -> list[nn.Module]:
            # doubles H and W: kernel 4, stride 2, padding 1
            return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]

        self.net = nn.Sequential(
            # (N, latent_dim, 1, 1) -> (N, c512, 4, 4)
            nn.ConvTranspose2d(latent_dim, c512, 4, 1, 0, bias=False), nn.BatchNorm2d(c512), nn.ReLU(True),
            *up(c512, c256),  # (N, c256, 8, 8)
            *up(c256, c128),  # (N, c128, 16, 16)
            *up(c128, c64),   # (N, c64, 32, 32)
            nn.ConvTranspose2d(c64, 3, 4, 2, 1, bias=False),  # (N, 3, 64, 64)
            nn.Tanh(),
        )
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]  # (N, latent_dim) -> (N, latent_dim, 1, 1)
        if z.dim() != 4 or z.shape[1] != self.latent_dim or z.shape[2:] != (1, 1):
            raise ValueError(f"Generator expects z of shape (N, {self.latent_dim}) or "
                             f"(N, {self.latent_dim}, 1, 1), got {tuple(z.shape)}")
        return self.net(z)

    def arch(self) -> dict:
        """What is needed to rebuild this module (stored in exports)."""
        return {"arch": "dcgan", "latent_dim": self.latent_dim, "width": self.width}


class Discriminator(nn.Module):
    def __init__(self, width: float = 1.0):
        super().__init__()
        self.width = width
        c64, c128, c256, c512 = scaled_channels(width)

        def down(c_in: int, c_out: int, bn: bool = True) -> list[nn.Module]:
            # halves H and W: kernel 4, stride 2, padding 1
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not bn)]
            if bn:
                layers.append(nn.BatchNorm2d(c_out))
            return layers + [nn.LeakyReLU(0.2, inplace=True)]

        self.net = nn.Sequential(
            *down(3, c64, bn=False),  # (N, c64, 32, 32); no BN on the first layer (DCGAN)
            *down(c64, c128),         # (N, c128, 16, 16)
            *down(c128, c256),        # (N, c256, 8, 8)
            *down(c256, c512),        # (N, c512, 4, 4)
            nn.Conv2d(c512, 1, 4, 1, 0, bias=False),  # (N, 1, 1, 1) logits
        )
        self.apply(dcgan_init)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _short(layer: nn.Module) -> str:
    """'ConvTranspose2d 512->256 k4 s2 p1', 'BatchNorm2d(256)', 'LeakyReLU(0.2)'."""
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        return (f"{type(layer).__name__} {layer.in_channels}->{layer.out_channels} "
                f"k{layer.kernel_size[0]} s{layer.stride[0]} p{layer.padding[0]}")
    if isinstance(layer, nn.BatchNorm2d):
        return f"BatchNorm2d({layer.num_features})"
    if isinstance(layer, nn.LeakyReLU):
        return f"LeakyReLU({layer.negative_slope})"
    return type(layer).__name__


@torch.no_grad()
def layer_table(module: nn.Module, input_shape: tuple[int, ...]) -> str:
    """A text table of ``module.net``: each layer, its output shape and parameter count."""
    rows: list[tuple[str, str, str, int]] = []
    hooks = [layer.register_forward_hook(
        lambda m, args, out, name=name: rows.append((name, _short(m), str(tuple(out.shape)), count_parameters(m))))
        for name, layer in module.net.named_children()]
    was_training = module.training
    device = next(module.parameters()).device
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
