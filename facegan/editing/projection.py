"""Your own photo in a generator's latent space: crop it to the training framing, then optimise a code
whose face reconstructs it (GAN inversion by optimisation, as StyleGAN2's projector does), so the
edits of facegan.editing.directions apply to it.

Loss = pixel MSE + ``perceptual_weight`` x perceptual distance. The perceptual distance compares the
attribute classifier's four stages of feature maps (each channel vector unit-normalised per position,
as LPIPS does, without LPIPS's learned weights: they are a download). Spaces: z (DCGAN; a small
penalty keeps |z|^2 near its typical latent_dim), w (one w for every layer: stays where the generator
draws faces, so edits behave) or w+ (one w per layer: reconstructs more, edits less reliably).
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from facegan.editing.attribute_classifier import resize_for_attribute_classifier
from facegan.errors import FaceganError
from facegan.latent import latent_space, ws_from_codes, z_to_codes

MIN_SIDE = 64  # the training framing: a photo is centre-cropped and resized to the generator's side
MAX_ASPECT = 2.0  # longer / shorter side beyond this is not a face crop (a landscape, a banner)
MIN_CONTRAST = 0.02  # pixel std in [0, 1] below this: one flat colour, not a face
SPACES = ("z", "w", "w+")


def load_photo(path: str | Path, side: int) -> torch.Tensor:
    """A photo -> (1, 3, side, side) in [-1, 1]: EXIF-rotated, centre-cropped to a square, resized.
    Files that are not images, are smaller than 64 px, or cannot be a face crop get one line each."""
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"photo {path} not found")
    return _photo(lambda: Image.open(path), str(path), side)


def photo_from_bytes(data: bytes, name: str, side: int) -> torch.Tensor:
    """load_photo for a photo held in memory (an upload); ``name`` is what its messages call it."""
    return _photo(lambda: Image.open(io.BytesIO(data)), name, side)


def _photo(open_image, name: str, side: int) -> torch.Tensor:
    try:
        with open_image() as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
    except Image.DecompressionBombError:  # PIL's guard against images that decode to gigabytes
        raise FaceganError(f"{name} has far too many pixels for a photo; resize it first") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise FaceganError(f"{name} is not an image PIL can read (JPEG, PNG, ...): {type(e).__name__}") from None
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise FaceganError(f"{name} is {w}x{h}: too small; a face photo needs at least {MIN_SIDE} px on its short side")
    if max(w, h) / min(w, h) > MAX_ASPECT:
        raise FaceganError(f"{name} is {w}x{h}: not a face-like crop; crop it to the face first (roughly square, "
                           "the face filling most of it, as in the training images)")
    crop = min(w, h)
    img = img.crop(((w - crop) // 2, (h - crop) // 2, (w - crop) // 2 + crop, (h - crop) // 2 + crop))
    img = img.resize((side, side), Image.LANCZOS)
    pixels = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255  # (3, side, side)
    if pixels.std() < MIN_CONTRAST:
        raise FaceganError(f"{name} is nearly one flat colour: not a face-like crop")
    return (pixels * 2 - 1)[None]


def perceptual_features(classifier: torch.nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """The classifier's four stages of feature maps for images (N, 3, R, R) in [-1, 1], each channel
    vector unit-normalised per position (as LPIPS does): [(N, C_k, h_k, w_k)]."""
    return [F.normalize(f, dim=1) for f in classifier.stage_outputs(resize_for_attribute_classifier(images))]


def perceptual_distance(classifier: torch.nn.Module, a: torch.Tensor, b: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
    """Mean over the stages of the squared distance between normalised feature vectors, averaged over
    positions: (N,) for images a and b (or b's precomputed ``perceptual_features``)."""
    features_b = b if isinstance(b, list) else perceptual_features(classifier, b)
    distances = [(fa - fb).pow(2).sum(dim=1).mean(dim=(1, 2))
                 for fa, fb in zip(perceptual_features(classifier, a), features_b)]
    return torch.stack(distances).mean(dim=0)


def _synthesize(generator: torch.nn.Module, code: torch.Tensor, space: str) -> torch.Tensor:
    if space == "z":
        return generator(code)
    return generator.synthesis(ws_from_codes(generator, code), noise_mode="const")  # w or w+ alike


@torch.no_grad()
def _initial_code(generator: torch.nn.Module, target: torch.Tensor, space: str, candidates: int,
                  seed: int) -> torch.Tensor:
    """The start for each target (N, C, R, R): the best pixel match among ``candidates`` sampled codes
    (for w: plus the average w). Returns (N, D), or (N, num_ws, w_dim) for w+."""
    z = torch.randn(candidates, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    codes = z_to_codes(generator, z).to(target.device)
    if space != "z":
        codes = torch.cat([generator.mapping.w_avg[None], codes])
    images = torch.cat([_synthesize(generator, c, "z" if space == "z" else "w") for c in codes.split(32)])
    errors = torch.stack([(images - t).pow(2).mean(dim=(1, 2, 3)) for t in target])  # (N, K)
    best = codes[errors.argmin(dim=1)]  # (N, D)
    return best[:, None].repeat(1, generator.num_ws, 1) if space == "w+" else best


def default_space(generator: torch.nn.Module) -> str:
    """z for generators without a mapping; w+ for style generators: one w per layer reconstructs a photo
    better (the shipped StyleGAN2, 32 held-out faces: 22.4 dB PSNR in W+ against 19.8 in W, bench/RESULTS.md)
    and the W directions still edit it."""
    return "w+" if latent_space(generator) == "w" else "z"


def project(generator: torch.nn.Module, target: torch.Tensor, classifier: torch.nn.Module | None = None,
            space: str | None = None, steps: int = 300, lr: float = 0.05, perceptual_weight: float = 1.0,
            candidates: int = 64, seed: int = 0, say=print) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Optimise a code whose face reconstructs ``target`` (N, 3, R, R) in [-1, 1] (each target its own
    code: the loss is a sum of per-face terms, and the generators run in eval mode).

    Returns the codes ((N, D), or (N, num_ws, w_dim) for w+), their faces (N, 3, R, R) on the CPU and
    the mean loss at every step."""
    space = space or default_space(generator)
    if space not in SPACES:
        raise FaceganError(f"space must be one of {', '.join(SPACES)} (got {space!r})")
    if (space == "z") != (latent_space(generator) == "z"):
        raise FaceganError(f"this generator's latent space is {latent_space(generator)}: use "
                           f"{'--space z' if latent_space(generator) == 'z' else '--space w or w+'}")
    if target.shape[1:] != (generator.channels, generator.resolution, generator.resolution):
        raise FaceganError(f"target of shape {tuple(target.shape[1:])} does not match the generator's images")
    device = next(generator.parameters()).device
    target = target.to(device)
    generator.eval().requires_grad_(False)
    if classifier is not None:
        classifier.eval().requires_grad_(False)
    code = _initial_code(generator, target, space, candidates, seed).clone().requires_grad_(True)
    if classifier is not None:
        with torch.no_grad():
            target_features = perceptual_features(classifier, target)  # fixed: computed once
    optimiser = torch.optim.Adam([code], lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    history = []
    for step in range(steps):
        image = _synthesize(generator, code, space)
        loss = (image - target).pow(2).mean(dim=(1, 2, 3))  # (N,)
        if classifier is not None:
            loss = loss + perceptual_weight * perceptual_distance(classifier, image, target_features)
        if space == "z":  # keep z where the generator was trained: |z|^2 ~ latent_dim
            loss = loss + 1e-3 * (code.pow(2).mean(dim=1) - 1).pow(2)
        loss = loss.mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        history.append(loss.item())
        if (step + 1) % max(1, steps // 5) == 0:
            say(f"step {step + 1}/{steps}: loss {loss.item():.4f}")
    with torch.no_grad():
        face = _synthesize(generator, code, space).float().cpu()
    return code.detach().cpu(), face, history


def reconstruction_quality(face: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """PSNR (dB) and SSIM of reconstructions against targets, both (N, 3, R, R) in [-1, 1], each the mean
    over the N faces of its per-face value (torchmetrics)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    a, b = ((face.clamp(-1, 1) + 1) / 2).float().cpu(), ((target.clamp(-1, 1) + 1) / 2).float().cpu()
    return {"psnr": float(peak_signal_noise_ratio(a, b, data_range=1.0, dim=(1, 2, 3))),
            "ssim": float(structural_similarity_index_measure(a, b, data_range=1.0))}
