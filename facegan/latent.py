"""Latent codes: the one path seeds -> z -> codes (z, or w for style generators) -> images, for every
architecture, with truncation and interpolation.

- z: ``sample_latents`` / ``latents_for_seeds`` draw it on the CPU from a seeded generator, so a seed names
  the same face on every device; ``generate`` turns z (N, latent_dim) into images (N, C, H, W) in [-1, 1].
- codes: what edits, projection and the app work on. z itself for generators without a mapping (DCGAN,
  MLP); w (N, w_dim) for style generators (StyleGAN2/3: those whose contract declares ``STYLE``,
  ``facegan.models.contract.is_style``), or W+ (N, num_ws, w_dim) with one w per layer.
  ``codes_for_seeds`` / ``z_to_codes`` make them, ``render`` turns them into images.
- ``sample`` and ``interpolate`` (slerp in z) / ``interpolate_w`` (lerp in W) are what the CLI, notebooks
  and app call; ``transformed`` turns and moves a StyleGAN3's faces while they are drawn.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from facegan.errors import FaceganError
from facegan.models.contract import GeneratorBase, can_transform, is_style
from facegan.models.heap import reuse_freed_memory


def sample_latents(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """(n, latent_dim) standard-normal latents, identical for a given seed on every device."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def latents_for_seeds(seeds, latent_dim: int) -> torch.Tensor:
    """(len(seeds), latent_dim): row i is the z that ``sample(G, 1, seeds[i])`` draws."""
    return torch.cat([sample_latents(1, latent_dim, seed) for seed in seeds])


PIXELS_PER_BATCH = 256 * 64 * 64  # images per forward pass: 256 at 64 px, 4 at 512 px, 1 at 1024 px


def generate_chunks(generator: GeneratorBase, z: torch.Tensor, batch_size: int = 256,
                    **options) -> Iterator[torch.Tensor]:
    """z (N, latent_dim) -> images in [-1, 1] on the CPU, chunk after chunk (each (n, C, H, W)), in eval mode
    and inference mode, each chunk at most ``batch_size`` images and PIXELS_PER_BATCH output pixels (a 1024 px
    StyleGAN2's activations for a batch of 64 would need tens of GB): a caller that writes each chunk out
    (``facegan sample``) holds one chunk at a time, however many faces it draws."""
    return forward_chunks(generator, z, images_per_pass(batch_size, generator.resolution), **options)


def images_per_pass(batch_size: int, side: int) -> int:
    """At most ``batch_size`` images of side ``side``, and at most PIXELS_PER_BATCH pixels, per forward pass."""
    return max(1, min(batch_size, PIXELS_PER_BATCH // (side * side)))


def forward_chunks(module: torch.nn.Module, inputs: torch.Tensor, batch_size: int,
                   **options) -> Iterator[torch.Tensor]:
    """``module`` (a generator, or a style generator's synthesis) on ``inputs`` (N, ...), ``batch_size`` at a
    time, in eval mode and inference mode: images (n, C, H, W) on the CPU, chunk after chunk."""
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    try:
        with reuse_freed_memory():  # an HD face's large maps reuse the last ones' pages (models/heap.py)
            for chunk in inputs.split(batch_size):
                with torch.inference_mode():
                    images = module(chunk.to(device), **options).float().cpu()
                yield images.clone()  # a normal tensor again, usable with autograd outside
    finally:
        module.train(was_training)


def generate(generator: GeneratorBase, z: torch.Tensor, batch_size: int = 256, **options) -> torch.Tensor:
    """z (N, latent_dim) -> images (N, C, H, W) in [-1, 1] on the CPU (``generate_chunks``, concatenated)."""
    return torch.cat(list(generate_chunks(generator, z, batch_size, **options)))


def sample(generator: GeneratorBase, n: int, seed: int = 0, truncation: float = 1.0) -> torch.Tensor:
    """n faces (n, C, H, W) in [-1, 1]; the same seed gives the same faces. ``truncation`` psi < 1 pulls
    each face's styles towards the average face (style generators only: they have a mapping to w)."""
    return torch.cat(list(sample_chunks(generator, n, seed, truncation)))


def sample_chunks(generator: GeneratorBase, n: int, seed: int = 0, truncation: float = 1.0) -> Iterator[torch.Tensor]:
    """``sample``'s faces, chunk after chunk (``generate_chunks``): the same faces, one chunk in memory."""
    return generate_chunks(generator, sample_latents(n, generator.latent_dim, seed), **_truncation(generator, truncation))


def _truncation(generator: GeneratorBase, psi: float) -> dict:
    """The generator keyword for truncation psi: none at psi 1 (any generator), else style generators only."""
    if psi == 1.0:
        return {}
    require_style_generator(generator, "truncation (leave it at 1 here)")
    return {"truncation_psi": psi}


def require_style_generator(generator: GeneratorBase, what: str) -> None:
    if not is_style(generator):
        raise FaceganError(f"{what} needs a style generator (stylegan2), which maps z to w; this "
                           f"{generator.arch()['arch']} generator has no w space")


def transformed(generator: GeneratorBase, rotate: float = 0.0, translate: tuple[float, float] = (0.0, 0.0)):
    """A context in which ``generator`` draws its faces turned by ``rotate`` degrees and moved by ``translate``
    (half-widths): StyleGAN3 only (its Fourier-feature input turns and moves, texture and all); a no-op
    when both are zero, for any generator."""
    if rotate == 0 and tuple(translate) == (0, 0):
        return contextlib.nullcontext(generator)
    if not can_transform(generator):
        raise FaceganError(f"rotate and translate move a StyleGAN3's Fourier-feature input; this generator is a "
                           f"{generator.arch()['arch']}, which has none (leave them at 0, or import a StyleGAN3: "
                           "facegan import stylegan3)")
    return generator.transformed(rotate, tuple(translate))


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latents a, b (D,) at fractions t (T,) -> (T, D).

    Gaussian latents concentrate near a sphere; slerp keeps the path there, where lerp would pass
    through low-norm points the generator rarely saw.
    """
    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_n * b_n).sum().clamp(-1, 1))
    t = t[:, None]
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(generator: GeneratorBase, seed_a: int, seed_b: int, steps: int = 8,
                truncation: float = 1.0) -> torch.Tensor:
    """Faces along the slerp path from seed_a's face to seed_b's: (steps, C, H, W). (W space, for style
    generators: :func:`interpolate_w`.)"""
    a = sample_latents(1, generator.latent_dim, seed_a)[0]
    b = sample_latents(1, generator.latent_dim, seed_b)[0]
    return generate(generator, slerp(a, b, torch.linspace(0, 1, steps)), **_truncation(generator, truncation))


def latent_space(generator: GeneratorBase) -> str:
    """'w' for style generators (edits in W, or W+: num_ws copies of w), 'z' for the others."""
    return "w" if is_style(generator) else "z"


def code_size(generator: GeneratorBase) -> int:
    return generator.w_dim if latent_space(generator) == "w" else generator.latent_dim


@torch.no_grad()
def codes_for_seeds(generator: GeneratorBase, seeds, truncation: float = 1.0) -> torch.Tensor:
    """(len(seeds), D) on the CPU: each seed's z (the one `sample` draws), or its w for style generators."""
    z = latents_for_seeds(list(seeds), generator.latent_dim)
    return z_to_codes(generator, z, truncation)


@torch.no_grad()
def z_to_codes(generator: GeneratorBase, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
    """z (N, latent_dim) -> codes (N, D) on the CPU: z itself, or its w for style generators."""
    if latent_space(generator) == "z":
        if truncation != 1.0:
            raise FaceganError("truncation needs a style generator (stylegan2); leave it at 1 for this generator")
        return z
    device = next(generator.parameters()).device
    ws = [generator.mapping(chunk.to(device), truncation_psi=truncation, update_w_avg=False)[:, 0].cpu()
          for chunk in z.split(1024)]  # without mixing all num_ws ws are equal: keep one
    return torch.cat(ws)


def render(generator: GeneratorBase, codes: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Codes (N, D) -- or W+ codes (N, num_ws, w_dim) -- -> images (N, C, R, R) in [-1, 1] on the CPU."""
    check_codes(generator, codes)
    if latent_space(generator) == "z":
        return generate(generator, codes, batch_size)
    per_pass = images_per_pass(min(batch_size, 64), generator.resolution)
    return torch.cat(list(forward_chunks(generator.synthesis, ws_from_codes(generator, codes), per_pass)))


def ws_from_codes(generator: GeneratorBase, codes: torch.Tensor) -> torch.Tensor:
    """w codes (N, w_dim) -> ws (N, num_ws, w_dim), the same w for every layer (a view, no copy);
    W+ codes (N, num_ws, w_dim) are returned as they are."""
    return codes[:, None].expand(-1, generator.num_ws, -1) if codes.dim() == 2 else codes


def check_codes(generator: GeneratorBase, codes: torch.Tensor) -> None:
    size, space = code_size(generator), latent_space(generator)
    shapes = [(size,)] + ([(generator.num_ws, size)] if space == "w" else [])
    if tuple(codes.shape[1:]) not in shapes:
        raise FaceganError(f"latent of shape {tuple(codes.shape[1:])} does not fit this generator, whose "
                           f"{space} codes are {' or '.join(str(s) for s in shapes)}: was it made for another "
                           "generator?")


def interpolate_w(generator: GeneratorBase, seed_a: int, seed_b: int, steps: int,
                  truncation: float = 1.0) -> torch.Tensor:
    """Faces along the straight line in W between two seeds' ws: (steps, C, H, W). W is where the
    mapping has made the space roughly linear, so a lerp there changes the face more evenly than a
    slerp in z (StyleGAN's perceptual path length is measured this way)."""
    require_style_generator(generator, "W space")
    w = codes_for_seeds(generator, [seed_a, seed_b], truncation)  # (2, w_dim)
    t = torch.linspace(0, 1, steps)[:, None]
    return render(generator, w[0].lerp(w[1], t))  # lerp broadcasts to (steps, w_dim)
