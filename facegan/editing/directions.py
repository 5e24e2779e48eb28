"""Faces you can dial: latent directions for face attributes, fitted with the attribute classifier, and
the edits they make.

A face is a *code*: z (latent_dim,) for generators without a mapping (DCGAN), w (w_dim,) for style
generators (StyleGAN2: W is far more linearly separable by attribute than z), or a W+ code
(num_ws, w_dim) that a projected photo may have. A direction is a unit vector in that space;
editing adds ``strength * scale * direction``, where ``scale`` is the standard deviation of sampled
codes along the direction, so strength is in standard deviations for every generator and space
(+-3 spans nearly all generated faces).

- Supervised directions (InterFaceGAN, Shen et al. 2020): score many generated faces with the
  attribute classifier, keep the most and least confident ``share`` per attribute, fit a linear
  classifier (scikit-learn's LinearSVC or LogisticRegression) on their codes; its unit normal is the
  direction, its accuracy on a held-back part is the fit accuracy.
- Conditional directions: remove from a direction its components along other attributes' directions
  (ageing without changing gender), so moving along it leaves their linear scores unchanged.
- Unsupervised directions (SeFa, Shen & Zhou 2021): the top eigenvectors of A^T A for the first
  layer's weight A (DCGAN's 4x4 transposed convolution, or StyleGAN2's concatenated style affines),
  the latent directions that move that layer's output most. For exploring: named sefa-1, sefa-2, ...

Directions are saved as safetensors next to the generator, tied to it by a digest of its weights.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from facegan.editing.attribute_classifier import resize_for_attribute_classifier
from facegan.editing.names import EDITABLE_ATTRIBUTES, FRIENDLY_NAMES, resolve_name
from facegan.errors import FaceganError
from facegan.fileio import atomic_path, read_tagged_safetensors
from facegan.latent import check_codes, code_size, latent_space, render, sample_latents, z_to_codes

DIRECTIONS_FORMAT = "facegan-directions"
LATENT_FORMAT = "facegan-latent"
METHODS = ("svm", "logistic")

# ----------------------------------------------------------------------------- codes


def generator_digest(generator: torch.nn.Module) -> str:
    """A short hash of the generator's weights (as loaded, fp32): ties directions and latents to it."""
    h = hashlib.sha256()
    for name, tensor in sorted(generator.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- fitting
def fit_direction(codes: torch.Tensor, scores: torch.Tensor, share: float = 0.05, method: str = "svm",
                  seed: int = 0) -> tuple[torch.Tensor, float]:
    """InterFaceGAN: the unit normal of a linear classifier separating the codes (N, D) with the highest
    ``share`` of scores (N,) from those with the lowest, and its accuracy on a held-back 30 % of them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.svm import LinearSVC

    k = max(2, int(share * len(codes)))
    order = scores.argsort()
    chosen = torch.cat([order[:k], order[-k:]])
    x, y = codes[chosen].double().numpy(), torch.cat([torch.zeros(k), torch.ones(k)]).numpy()
    x_fit, x_check, y_fit, y_check = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    model = (LinearSVC(C=0.01, dual="auto", max_iter=20_000, random_state=seed) if method == "svm"
             else LogisticRegression(C=0.1, max_iter=5_000))
    model.fit(x_fit, y_fit)
    normal = torch.as_tensor(model.coef_[0], dtype=torch.float32)
    return normal / normal.norm(), float(model.score(x_check, y_check))


def is_first_layer(module: torch.nn.Module, latent_dim: int) -> bool:
    """The layer z enters: DCGAN's 4x4 transposed convolution, or a dense layer taking latent_dim inputs
    (nn.Linear, or ProGAN's equalised-learning-rate one, whose stored weight SeFa reads the same way)."""
    weight = getattr(module, "weight", None)
    if isinstance(module, torch.nn.ConvTranspose2d):
        return True
    return isinstance(weight, torch.nn.Parameter) and weight.ndim == 2 and weight.shape[1] == latent_dim


def sefa_directions(generator: torch.nn.Module, k: int = 8) -> torch.Tensor:
    """(k, D): SeFa's closed-form directions, the top eigenvectors of A A^T, where the columns of A
    (D, outputs) are the first layer's weights per output unit, each normalised (as SeFa does)."""
    if latent_space(generator) == "w":
        # every style affine maps w (w_dim) to one layer's styles: weight (styles, w_dim)
        weights = [m.weight for name, m in generator.synthesis.named_modules() if name.endswith("affine")]
        a = torch.cat(weights).detach().float().T  # (w_dim, all styles)
    else:
        first = next(m for m in generator.modules() if is_first_layer(m, generator.latent_dim))
        w = first.weight.detach().float()  # ConvTranspose2d (latent_dim, C, 4, 4) / a dense layer (out, latent_dim)
        a = w.reshape(w.shape[0], -1) if isinstance(first, torch.nn.ConvTranspose2d) else w.T
    a = a / a.norm(dim=0, keepdim=True).clamp_min(1e-12)
    _, vectors = torch.linalg.eigh(a @ a.T)  # ascending eigenvalues; columns are eigenvectors
    return vectors[:, -k:].flip(1).T.contiguous()


@dataclass
class Directions:
    """Unit directions (K, D) in one generator's latent space, with their names and per-direction scales."""
    names: tuple[str, ...]  # CelebA attribute names, then sefa-1, sefa-2, ...
    vectors: torch.Tensor  # (K, D) unit rows
    scales: torch.Tensor  # (K,) std of sampled codes along each direction
    space: str  # "z" or "w"
    info: dict  # method, fit accuracy per attribute, samples, generator digest (+ classifier file from the CLI)

    def index(self, name: str) -> int:
        if name not in self.names:
            raise FaceganError(f"no direction {name!r} for this generator; it has {', '.join(self.names)}")
        return self.names.index(name)

    def vector(self, name: str, conditions: list[str] = ()) -> torch.Tensor:
        """The unit direction for ``name``, made orthogonal to the directions in ``conditions``."""
        v = self.vectors[self.index(name)]
        others = [self.vectors[self.index(c)] for c in conditions if c != name]
        return v if not others else project_out(v, torch.stack(others), name, conditions)


def project_out(direction: torch.Tensor, others: torch.Tensor, name: str = "", conditions=()) -> torch.Tensor:
    """The unit vector along ``direction`` (D,) minus its component in the span of ``others`` (K, D)."""
    basis, _ = torch.linalg.qr(others.T.double())  # (D, K) orthonormal columns spanning the conditions
    d = direction.double()
    rest = d - basis @ (basis.T @ d)
    if rest.norm() < 1e-3 * d.norm():
        raise FaceganError(f"the {name or 'edit'} direction lies within {', '.join(conditions) or 'the conditions'}: "
                           "nothing is left after conditioning; drop --condition")
    return (rest / rest.norm()).float()


@torch.no_grad()
def fit_directions(generator: torch.nn.Module, classifier, classifier_names: tuple[str, ...],
                   attributes: tuple[str, ...] = EDITABLE_ATTRIBUTES, samples: int = 20_000, share: float = 0.05,
                   method: str = "svm", sefa: int = 8, seed: int = 0, say=print) -> Directions:
    """Sample ``samples`` codes, score their faces, fit one direction per attribute (+ ``sefa`` SeFa ones)."""
    from facegan.editing.attribute_classifier import predict

    if method not in METHODS:
        raise FaceganError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    missing = [a for a in attributes if a not in classifier_names]
    if missing:
        raise FaceganError(f"the classifier does not predict {', '.join(missing)}; it knows {', '.join(classifier_names)}")
    z = sample_latents(samples, generator.latent_dim, seed)
    codes = z_to_codes(generator, z)
    say(f"scoring {samples:,} generated faces ...")
    probabilities = torch.cat([predict(classifier, resize_for_attribute_classifier(render(generator, chunk)))
                               for chunk in codes.split(1024)])  # (N, A)
    vectors, accuracy, spread = [], {}, {}
    k = max(2, int(share * samples))
    for name in attributes:
        p = probabilities[:, classifier_names.index(name)]
        direction, acc = fit_direction(codes, p, share, method, seed)
        vectors.append(direction)
        ordered = p.sort().values
        low, high = float(ordered[:k].mean()), float(ordered[-k:].mean())  # does the generator even vary it?
        accuracy[name], spread[name] = round(acc, 4), [round(low, 4), round(high, 4)]
        say(f"{name:20s} fit accuracy {acc:.3f}   mean P in the lowest/highest {share:.0%}: {low:.2f} / {high:.2f}")
    names = list(attributes)
    if sefa:
        vectors += list(sefa_directions(generator, sefa))
        names += [f"sefa-{i + 1}" for i in range(sefa)]
    vectors = torch.stack(vectors)
    scales = (codes @ vectors.T).std(dim=0)  # (K,)
    info = {"method": method, "sefa": sefa, "samples": samples, "share": share, "seed": seed,
            "fit_accuracy": accuracy, "mean_p_low_high": spread, "generator": generator_digest(generator)}
    return Directions(tuple(names), vectors, scales, latent_space(generator), info)


# ----------------------------------------------------------------------------- files
def directions_path(generator_path: str | Path) -> Path:
    """Where directions live by default: beside the generator (runs/X/generator.directions.safetensors)."""
    path = Path(generator_path)
    return path.with_name(path.name.removesuffix(".safetensors") + ".directions.safetensors")


def save_directions(directions: Directions, path: str | Path) -> Path:
    metadata = {"format": DIRECTIONS_FORMAT, "names": json.dumps(list(directions.names)),
                "space": directions.space, "info": json.dumps(directions.info)}
    with atomic_path(path) as tmp:
        save_file({"vectors": directions.vectors.contiguous(), "scales": directions.scales.contiguous()},
                  str(tmp), metadata=metadata)
    return Path(path)


def load_directions(path: str | Path, generator: torch.nn.Module | None = None) -> Directions:
    """Directions from ``path``; with ``generator``, checked to belong to it (same weights digest)."""
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"directions file {path} not found; fit them with: facegan directions --generator G "
                           "--classifier models/attributes.safetensors")
    tensors, metadata = read_tagged_safetensors(path, DIRECTIONS_FORMAT, "facegan directions file")
    try:
        names, info = tuple(json.loads(metadata["names"])), json.loads(metadata["info"])
        directions = Directions(names, tensors["vectors"].float(), tensors["scales"].float(), metadata["space"], info)
    except (KeyError, TypeError, ValueError) as e:
        raise FaceganError(f"{path} has unreadable directions metadata ({type(e).__name__}: {e})") from None
    if generator is not None:
        if directions.info.get("generator") != generator_digest(generator):
            raise FaceganError(f"{path} holds directions of another generator (its weights differ); fit them for "
                               "this one with: facegan directions --generator ...")
        if directions.vectors.shape[1] != code_size(generator):
            raise FaceganError(f"{path} holds {directions.vectors.shape[1]}-d directions; this generator's codes are "
                               f"{code_size(generator)}-d")
    return directions


def save_latent(path: str | Path, code: torch.Tensor, generator: torch.nn.Module, info: dict) -> Path:
    """One face's code (1, D) or W+ (1, num_ws, w_dim), tied to its generator, as safetensors."""
    metadata = {"format": LATENT_FORMAT, "space": latent_space(generator), "generator": generator_digest(generator),
                "info": json.dumps(info)}
    with atomic_path(path) as tmp:
        save_file({"code": code.detach().float().cpu().contiguous()}, str(tmp), metadata=metadata)
    return Path(path)


def load_latent(path: str | Path, generator: torch.nn.Module) -> torch.Tensor:
    """The code in a latent file from `facegan project`, checked to fit ``generator``."""
    path = Path(path)
    if not path.is_file():
        raise FaceganError(f"latent file {path} not found; make one with: facegan project PHOTO --generator G")
    tensors, metadata = read_tagged_safetensors(path, LATENT_FORMAT, "facegan latent file")
    if "code" not in tensors:
        raise FaceganError(f"{path} holds no 'code' tensor")
    code = tensors["code"].float()
    check_codes(generator, code)
    if metadata.get("generator") != generator_digest(generator):
        raise FaceganError(f"{path} was projected with another generator; project the photo again with this one")
    return code


# ----------------------------------------------------------------------------- edits
def edit_codes(codes: torch.Tensor, directions: Directions, edits: dict[str, float],
               conditions: list[str] = ()) -> torch.Tensor:
    """codes (N, D) or W+ (N, num_ws, D) moved by ``strength`` standard deviations along each edit's
    direction (made orthogonal to the ``conditions``' directions). Strength 0 returns the codes unchanged."""
    condition_names = [resolve_name(c)[0] for c in conditions]
    delta = torch.zeros(codes.shape[-1])
    for name, strength in edits.items():
        attr, sign = resolve_name(name)
        i = directions.index(attr)
        delta += sign * strength * directions.scales[i] * directions.vector(attr, condition_names)
    if not delta.any():
        return codes.clone()
    return codes + delta  # broadcasts over the W+ layers too


def edit_vectors(directions: Directions) -> dict[str, torch.Tensor]:
    """Per friendly edit name (age, smile, ...) whose attribute has a direction: the code offset of strength 1
    (one standard deviation along it, signed as the name reads), what ``edit_codes`` adds per unit."""
    out = {}
    for friendly, (attr, sign) in FRIENDLY_NAMES.items():
        if attr in directions.names:
            i = directions.index(attr)
            out[friendly] = sign * directions.scales[i] * directions.vectors[i]
    return out


def strip_codes(code: torch.Tensor, directions: Directions, name: str, strengths: torch.Tensor,
                conditions: list[str] = ()) -> torch.Tensor:
    """One face's code (D,) or (num_ws, D) along one attribute at each strength: (S, ...) codes."""
    return torch.cat([edit_codes(code[None], directions, {name: float(s)}, conditions) for s in strengths])
