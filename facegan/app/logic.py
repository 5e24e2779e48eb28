"""The app's logic, without Streamlit: which generators there are, one loaded with its directions and
card, and every picture the page shows, as PNG or GIF bytes. app.py lays these out and caches the
loaded models (st.cache_resource); the tests and bench/app_latency.py call them directly.

A face is named by its seed: face ``s`` is the one ``facegan sample --seed s --n 1`` draws (its code
from ``editing.codes_for_seeds``), so a face seen in the grid can be blended and edited by its number.
"""
from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from safetensors import SafetensorError, safe_open

from facegan.data.images import to_uint8
from facegan.editing.directions import Directions, directions_path, edit_codes, load_directions
from facegan.editing.names import FRIENDLY_NAMES
from facegan.errors import FaceganError
from facegan.fileio import DEFAULT_GENERATOR, GENERATOR_FILE, shipped_model
from facegan.interop.export import EXPORT_FORMAT, load_generator, read_export
from facegan.latent import codes_for_seeds, latent_space, latents_for_seeds, render, slerp, transformed
from facegan.models.contract import GeneratorBase, can_transform, is_style
from facegan.viz import gif_bytes, grid_image

MODELS_ENV = "FACEGAN_APP_MODELS"  # extra folders of generator exports, separated by os.pathsep
DEFAULT_MODEL = DEFAULT_GENERATOR  # in models/: what a visitor sees first
CLASSIFIER = "attributes.safetensors"  # in models/: the perceptual loss of photo projection
MAX_FACES = 16
GRID_COLUMNS = 8
MAX_SEED = 2**31 - 1
EDIT_LIMIT = 3.0  # slider range in standard deviations along a direction: +-3 spans nearly all faces
MAX_UPLOAD_MB = 8
UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp")
UPLOAD_FORMATS = ("JPEG", "PNG", "WEBP")  # what PIL must find inside, whatever the file is called
MAX_UPLOAD_PIXELS = 50_000_000  # a 50-megapixel photo decodes to 150 MB: more is not a face photo
SHOW_SIDE = 256  # one face is shown this big: small generators upscaled, HD ones downscaled (PNGs stay full size)
GIF_FRAMES = 16  # the blend GIF's path (then back again)
PROJECT_STEPS = 120  # photo projection: ~1/3 of the CLI's 300, so the page answers in seconds on a CPU
CARD_MAX_BYTES = 200_000  # a model card longer than this is cut (it is shown in a sidebar)
THREADS_ENV = "FACEGAN_APP_THREADS"  # torch threads per render (default 1)


def set_threads() -> int:
    """Give torch 1 intra-op thread (or $FACEGAN_APP_THREADS): sessions render concurrently in threads of
    one process, and on a shared 2-core CPU the app's small renders were 3-10x faster with one thread
    each than with two (bench/app_latency.py; bench/RESULTS.md, "The app")."""
    try:
        threads = max(1, int(os.environ.get(THREADS_ENV, "1")))
    except ValueError:
        threads = 1
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


# ----------------------------------------------------------------------------- which models
@dataclass(frozen=True)
class ModelChoice:
    label: str  # what the picker shows: "celeba64 (shipped)", "runs/003-quick", ...
    path: Path
    where: str  # "shipped", "run" or "extra"


def export_format(path: Path) -> str | None:
    """The format tag in a safetensors file's header ('facegan.generator' for generator exports, '' for
    none), or None when the header cannot be read. Only the header is read, not the weights."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format", "")
    except (SafetensorError, OSError, ValueError):
        return None


def list_models(root: str | Path = ".", extra: str | None = None) -> list[ModelChoice]:
    """Every generator export the app can show, the shipped default first: models/*.safetensors,
    ROOT/runs/*/generator.safetensors and, in each folder of ``extra`` (default: $FACEGAN_APP_MODELS),
    *.safetensors and */generator.safetensors. Generators are told apart from directions and
    classifiers by the format in their metadata. An unreadable file is listed too (marked), so that
    choosing it says what is wrong with it instead of it silently missing."""
    root = Path(root)
    shipped = shipped_model(DEFAULT_MODEL).parent
    extra = os.environ.get(MODELS_ENV, "") if extra is None else extra
    candidates = [(p, f"{p.name.removesuffix('.safetensors')} (shipped)", "shipped")
                  for p in sorted(shipped.glob("*.safetensors"))]
    candidates += [(p, f"runs/{p.parent.name}", "run") for p in sorted(root.glob(f"runs/*/{GENERATOR_FILE}"))]
    for folder in filter(None, extra.split(os.pathsep)):
        folder = Path(folder)
        files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob(f"*/{GENERATOR_FILE}"))
        candidates += [(p, str(p.relative_to(folder.parent)), "extra") for p in files]
    found, seen = [], set()
    for path, label, where in candidates:
        if path.resolve() in seen or path.name.endswith(".directions.safetensors") or path.name == CLASSIFIER:
            continue
        seen.add(path.resolve())
        fmt = export_format(path)
        if fmt == EXPORT_FORMAT:
            found.append(ModelChoice(label, path, where))
        elif fmt is None:
            found.append(ModelChoice(f"{label} (unreadable)", path, where))
    found.sort(key=lambda c: c.path.name != DEFAULT_MODEL or c.where != "shipped")  # stable: default first
    return found


def model_key(path: str | Path) -> tuple[str, int, int]:
    """What the app caches a loaded model under: path, modification time and size, so a run that
    exports a newer generator is loaded again instead of served stale."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return str(path), 0, 0
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


# ----------------------------------------------------------------------------- one model
@dataclass
class LoadedModel:
    path: Path
    generator: GeneratorBase
    directions: Directions | None
    no_edits: str  # why there are no edit sliders ("" when there are)
    facts: list[tuple[str, str]]  # the card's table: architecture, data, metrics, file
    card: str  # markdown: <model>.md beside the file, else what the metadata tells

    @property
    def resolution(self) -> int:
        return self.generator.resolution

    @property
    def is_style(self) -> bool:
        """Style generators (stylegan2) map z to w: truncation applies to them only."""
        return is_style(self.generator)

    @property
    def turns(self) -> bool:
        """StyleGAN3 generators can draw their faces turned and moved (their input transform)."""
        return can_transform(self.generator)

    def edit_names(self) -> list[str]:
        """The friendly edit names (age, smile, ...) whose attribute has a direction for this model."""
        if self.directions is None:
            return []
        return [name for name, (attr, _) in FRIENDLY_NAMES.items() if attr in self.directions.names]


def load_model(path: str | Path) -> LoadedModel:
    """A generator export with its directions (if any) and its card. A missing, corrupt or foreign
    file raises one FaceganError line; missing or mismatched directions only turn the edits off."""
    path = Path(path)
    generator = load_generator(path)
    if not is_style(generator):
        # channels-last: the DCGAN's convolutions run ~2x faster on CPU (bench/app_latency.py); not
        # applied to style generators, whose modulated convolutions reshape their activations
        generator = generator.to(memory_format=torch.channels_last)
    try:
        directions, no_edits = load_directions(directions_path(path), generator), ""
    except FaceganError as e:
        directions, no_edits = None, f"No edits for this model: {e}"
    facts, card = model_card(path, generator)
    return LoadedModel(path, generator, directions, no_edits, facts, card)


def load_photo_classifier() -> tuple[torch.nn.Module | None, str]:
    """The shipped attribute classifier for projection's perceptual loss, or None and why not
    (projection then matches pixels only: it still works, less faithfully)."""
    from facegan.editing.attribute_classifier import load_classifier

    try:
        return load_classifier(shipped_model(CLASSIFIER))[0], ""
    except FaceganError as e:
        return None, f"photos are matched by pixels only: {e}"


# ----------------------------------------------------------------------------- the card
def model_card(path: Path, generator: GeneratorBase) -> tuple[list[tuple[str, str]], str]:
    """(facts, markdown): facts from the file itself (architecture, training data, metrics, size);
    the text is the human-written card ``<model>.md`` beside the file when there is one."""
    _, metadata = read_export(path)
    config = _json(metadata.get("train_config"))
    arch = generator.arch()
    params = sum(p.numel() for p in generator.parameters())
    space = f", W {generator.w_dim}-d" if is_style(generator) else ""
    facts = [("architecture", f"{arch.get('arch', '?')}, {generator.resolution}×{generator.resolution} px, "
                              f"z {generator.latent_dim}-d{space}, {params / 1e6:.2f} M parameters"),
             ("training data", _describe_data(config.get("data"))),
             ("training", _describe_training(config)),
             ("metrics", describe_metrics(find_metrics(path, metadata), path)),
             ("file", f"{path} ({path.stat().st_size / 2**20:.1f} MB)")]
    card_path = path.with_suffix(".md")
    if card_path.is_file():
        text = without_front_matter(card_path.read_bytes()[:CARD_MAX_BYTES].decode("utf-8", errors="replace"))
    else:
        text = DEFAULT_CARD
    return facts, text


def without_front_matter(text: str) -> str:
    """A card's markdown without its leading YAML block (the Hugging Face model-card metadata between
    '---' lines: licence, datasets, tags), which is for the Hub, not for the page."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end != -1:
            return text[end + 5:].lstrip("\n")
    return text


DEFAULT_CARD = """No model card (a `.md` file beside the model) was found; what the file's metadata says is above.

**Licence.** facegan's code is MIT. The weights inherit the terms of the images they were trained on:
CelebA is for non-commercial research only, and so are generators trained on it.

**Known biases.** A face GAN draws what its training set shows. CelebA is celebrities: mostly young,
light-skinned, Western faces, many smiling and made up; such a model draws those more often and
others worse. The edit sliders come from an attribute classifier trained on CelebA's labels, whose
errors and stereotypes (for example "male" = short hair) they carry."""


def _json(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _describe_data(data) -> str:
    if not data:
        return "not recorded"
    if data == "synthetic":
        return "facegan's built-in procedural faces (synthetic)"
    return f"the images in {data}" + (" (CelebA)" if "celeba" in str(data).lower() else "")


def _describe_training(config: dict) -> str:
    if not config:
        return "not recorded"
    parts = [f"run {config['name']}" if config.get("name") else "",
             f"{config['minutes']:g}-minute limit" if config.get("minutes") else "",
             f"at most {config['epochs']} epochs" if config.get("epochs") else "",
             f"batch {config['batch_size']}" if config.get("batch_size") else "",
             f"EMA {config['ema_kimg']:g} kimg" if config.get("ema_kimg") else "",
             f"DiffAugment {config['augment']}" if config.get("augment") else ""]
    return ", ".join(p for p in parts if p)


def find_metrics(path: Path, metadata: dict[str, str]) -> dict:
    """Quality figures for a generator: a 'metrics' JSON object in the export's metadata, else the
    last line of its run's metrics.jsonl that has SWD or MS-SSIM; {} when neither exists."""
    stored = _json(metadata.get("metrics"))
    if stored:
        return stored
    log = path.parent / "metrics.jsonl"
    if path.name != GENERATOR_FILE or not log.is_file():
        return {}
    for line in reversed(log.read_text(errors="replace").splitlines()):
        record = _json(line)
        if "swd_avg" in record or "msssim" in record:
            return record
    return {}


def describe_metrics(metrics: dict, path: Path) -> str:
    """'SWD avg ×1e3 24.8 · MS-SSIM 0.321 (real 0.267)', or how to measure them."""
    parts = []
    if isinstance(metrics.get("swd_avg"), (int, float)):
        parts.append(f"SWD avg ×1e3 {metrics['swd_avg']:.1f}")
    if isinstance(metrics.get("msssim"), (int, float)):
        real = metrics.get("msssim_real")
        parts.append(f"MS-SSIM {metrics['msssim']:.3f}" + (f" (real {real:.3f})" if isinstance(real, float) else ""))
    if isinstance(metrics.get("fid"), (int, float)):
        parts.append(f"FID {metrics['fid']:.1f}")
    if not parts:
        return f"not measured yet: facegan eval --generator {path}"
    against = metrics.get("data") or metrics.get("against")
    return " · ".join(parts) + (f", against {against}" if against else "")


# ----------------------------------------------------------------------------- pictures
def png_bytes(image: torch.Tensor, side: int | None = None) -> bytes:
    """One image (C, H, W) in [-1, 1] as PNG bytes, resized to side×side when ``side`` is given
    (Lanczos: smooth when enlarging a 64 px face, anti-aliased when shrinking a 1024 px one)."""
    return pngs(image[None], side)[0]


def pngs(images: torch.Tensor, side: int | None = None) -> list[bytes]:
    """png_bytes for each of images (N, C, H, W), converted to uint8 in one go (per-image tensor ops
    cost more than the encoding at 64 px)."""
    pixels = to_uint8(images.cpu()).permute(0, 2, 3, 1).contiguous().numpy()  # (N, H, W, C)
    out = []
    for array in pixels:
        img = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
        if side and side != img.width:
            img = img.resize((side, side), Image.LANCZOS)
        buffer = io.BytesIO()
        img.save(buffer, format="PNG", compress_level=1)  # level 1: a few times faster than 6, a little larger
        out.append(buffer.getvalue())
    return out


def tile_side(resolution: int) -> int:
    """How big a grid face is sent: as it is up to SHOW_SIDE (the browser scales it to its column, about
    100-150 px), shrunk to SHOW_SIDE beyond (a 1024 px face would be 1.5 MB of PNG per tile)."""
    return min(resolution, SHOW_SIDE)


def seed_codes(model: LoadedModel, seeds, truncation: float = 1.0) -> torch.Tensor:
    """The codes of faces ``seeds`` (z, or w for style generators with truncation applied)."""
    check_truncation(model, truncation)
    return codes_for_seeds(model.generator, list(seeds), truncation)


def check_truncation(model: LoadedModel, truncation: float) -> None:
    if truncation != 1.0 and not model.is_style:
        raise FaceganError("truncation applies to style generators (stylegan2) only; this one has no w space")


@dataclass
class Grid:
    seeds: list[int]
    faces: torch.Tensor  # (N, C, R, R) in [-1, 1], full size
    tiles: list[bytes]  # one PNG per face at tile_side(R), what the page shows (the PNGs below up to 256 px)
    pngs: list[bytes]  # one PNG per face at full size, what its download button gives


def make_grid(model: LoadedModel, first_seed: int, n: int, truncation: float = 1.0, rotate: float = 0.0,
              translate: tuple[float, float] = (0.0, 0.0)) -> Grid:
    """Faces first_seed, first_seed + 1, ... (n of them, 1 to MAX_FACES), rendered and encoded for the page;
    ``rotate`` (degrees) and ``translate`` (half-widths) turn and move a StyleGAN3's faces."""
    if not 1 <= n <= MAX_FACES:
        raise FaceganError(f"the grid holds 1 to {MAX_FACES} faces (got {n})")
    seeds = [(first_seed + i) % (MAX_SEED + 1) for i in range(n)]
    with transformed(model.generator, rotate, translate):
        faces = render(model.generator, seed_codes(model, seeds, truncation))
    full = pngs(faces)
    side = tile_side(model.resolution)
    return Grid(seeds, faces, full if side == model.resolution else pngs(faces, side), full)


def grid_png(faces: torch.Tensor) -> bytes:
    """All faces as one full-size PNG, GRID_COLUMNS to a row as the page shows them."""
    buffer = io.BytesIO()
    grid_image(faces, nrow=min(len(faces), GRID_COLUMNS)).save(buffer, format="PNG")
    return buffer.getvalue()


def blend_codes(model: LoadedModel, seed_a: int, seed_b: int, ts: torch.Tensor,
                truncation: float = 1.0) -> torch.Tensor:
    """Codes (T, D) on the way from face A to face B at fractions ``ts``: a straight line in W for style
    generators (where the mapping made the space roughly linear), a spherical path in z otherwise
    (where gaussian latents live near a sphere), as `facegan interpolate` does."""
    if latent_space(model.generator) == "w":
        ws = seed_codes(model, [seed_a, seed_b], truncation)  # (2, w_dim)
        return ws[0] + (ws[1] - ws[0]) * ts[:, None]
    check_truncation(model, truncation)
    z = latents_for_seeds([seed_a, seed_b], model.generator.latent_dim)
    return slerp(z[0], z[1], ts)


def blend_face(model: LoadedModel, seed_a: int, seed_b: int, t: float, truncation: float = 1.0) -> torch.Tensor:
    """The face a fraction ``t`` (0: A, 1: B) of the way from face A to face B: (1, C, R, R)."""
    return render(model.generator, blend_codes(model, seed_a, seed_b, torch.tensor([float(t)]), truncation))


def blend_gif(model: LoadedModel, seed_a: int, seed_b: int, truncation: float = 1.0, frames: int = GIF_FRAMES,
              seconds: float = 3.0) -> bytes:
    """An animated GIF from A to B and back, SHOW_SIDE px (small faces enlarged, large ones shrunk)."""
    faces = render(model.generator, blend_codes(model, seed_a, seed_b, torch.linspace(0, 1, frames), truncation))
    if model.resolution > SHOW_SIDE:
        faces = torch.nn.functional.interpolate(faces, size=(SHOW_SIDE, SHOW_SIDE), mode="area")
    return gif_bytes(faces, seconds, scale=max(1, SHOW_SIDE // faces.shape[-1]))


def edited_code(model: LoadedModel, code: torch.Tensor, edits: dict[str, float],
                keep_gender: bool = False) -> torch.Tensor:
    """``code`` (1, D) -- or a projected photo's W+ code -- moved ``edits[name]`` standard deviations
    along each friendly direction; ``keep_gender`` makes the others orthogonal to the gender direction
    (ageing without turning male), as `facegan edit --condition gender` does."""
    if model.directions is None:
        raise FaceganError(model.no_edits or "this model has no edit directions")
    unknown = [name for name in edits if name not in model.edit_names()]
    if unknown:
        raise FaceganError(f"this model has no direction for {', '.join(unknown)}")
    moves = {name: float(v) for name, v in edits.items() if v}
    conditions = ["gender"] if keep_gender and "gender" in model.edit_names() else []
    return edit_codes(code, model.directions, moves, conditions)


def edited_face(model: LoadedModel, code: torch.Tensor, edits: dict[str, float],
                keep_gender: bool = False) -> torch.Tensor:
    """The face of edited_code: (1, C, R, R)."""
    return render(model.generator, edited_code(model, code, edits, keep_gender))


# ----------------------------------------------------------------------------- your photo
def check_upload(name: str, data: bytes) -> None:
    """One line for every upload the app refuses: wrong type (by name or by content), empty, over
    MAX_UPLOAD_MB, or with more pixels than a photo has. Only the header is decoded here."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        raise FaceganError(f"{name}: upload a photo in one of {', '.join(UPLOAD_TYPES)} (got .{suffix or '?'})")
    if not data:
        raise FaceganError(f"{name} is empty")
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise FaceganError(f"{name} is {len(data) / 2**20:.1f} MB; photos up to {MAX_UPLOAD_MB} MB are accepted: "
                           "resize it first")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise FaceganError(f"{name} is not a readable image; upload a JPEG, PNG or WebP photo") from None
    if fmt not in UPLOAD_FORMATS:
        raise FaceganError(f"{name} holds a {fmt} image; upload a JPEG, PNG or WebP photo")
    if width * height > MAX_UPLOAD_PIXELS:
        raise FaceganError(f"{name} is {width}x{height}: more than {MAX_UPLOAD_PIXELS // 10**6} megapixels; "
                           "resize it first")


def photo_target(model: LoadedModel, name: str, data: bytes) -> torch.Tensor:
    """An upload, checked, cropped and resized to the generator's side: (1, 3, R, R) in [-1, 1]."""
    from facegan.editing.projection import photo_from_bytes

    check_upload(name, data)
    return photo_from_bytes(data, name, model.resolution)


@dataclass
class Projection:
    code: torch.Tensor  # (1, D), or (1, num_ws, w_dim)
    reconstruction: torch.Tensor  # (1, C, R, R)
    psnr: float
    ssim: float
    seconds: float


def project_photo(model: LoadedModel, target: torch.Tensor, classifier: torch.nn.Module | None,
                  steps: int = PROJECT_STEPS) -> Projection:
    """The code whose face best matches ``target`` (facegan.editing.projection.project, which searches style
    generators in W+ by default: 2.6 dB closer than one w on held-out faces, docs/editing.md "How well does a photo
    project?"; the W edit directions move every layer's w alike), timed."""
    from facegan.editing.projection import project, reconstruction_quality

    start = time.perf_counter()
    code, face, _ = project(model.generator, target, classifier, steps=steps, say=lambda *_: None)
    quality = reconstruction_quality(face, target)
    return Projection(code, face, quality["psnr"], quality["ssim"], time.perf_counter() - start)
