"""Procedural faces (64x64 by default) with per-image attributes: the data that ships inside facegan.

Each face is drawn with PIL at 4x resolution and downsampled (anti-aliasing), from its own RNG
seeded by (seed, index), so face i is the same whatever N is. Attributes are recorded per image so
latent-space editing has labels to work with, like CelebA's 40 attributes.

    >>> images, attrs = render_faces(4, seed=0)
    >>> images.shape, images.dtype, sorted(attrs)[:3]
    (torch.Size([4, 3, 64, 64]), torch.uint8, ['beard', 'eyeglasses', 'grey_hair'])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

S = 256  # drawing canvas (256 x 256): 4x supersampling of the default 64 px output, for anti-aliasing

SKIN_TONES = [(255, 224, 196), (241, 194, 163), (224, 172, 130), (198, 134, 96), (160, 102, 66),
              (120, 74, 48), (92, 56, 38)]
HAIR_COLOURS = {"black": (30, 24, 22), "brown": (96, 60, 36), "blond": (222, 188, 120),
                "red": (168, 72, 38), "grey": (178, 176, 172)}
HAIR_NAMES = list(HAIR_COLOURS)  # index stored in attrs["hair_colour"]
IRIS_COLOURS = [(70, 45, 25), (40, 90, 140), (60, 110, 70), (110, 80, 40)]
ATTRIBUTES = ("smiling", "eyeglasses", "beard", "hair_colour", "grey_hair", "male", "long_hair")


def _mix(a, b, t: float):
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def _jitter(colour, rng: np.random.Generator, amount: int = 12):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _box(cx: float, cy: float, rx: float, ry: float) -> tuple[float, float, float, float]:
    return (cx - rx, cy - ry, cx + rx, cy + ry)


def _sample_attributes(rng: np.random.Generator) -> dict:
    male = rng.random() < 0.5
    grey = rng.random() < 0.15
    hair = "grey" if grey else str(rng.choice(["black", "brown", "blond", "red"], p=[0.4, 0.32, 0.18, 0.1]))
    return {
        "male": male,
        "smiling": rng.random() < 0.5,
        "eyeglasses": rng.random() < 0.2,
        "beard": male and rng.random() < 0.35,
        "grey_hair": grey,
        "hair_colour": hair,
        "long_hair": (rng.random() < 0.8) if not male else (rng.random() < 0.1),
        "bald": male and grey and rng.random() < 0.4,
    }


@dataclass
class _Palette:
    skin: tuple
    shadow: tuple
    hair: tuple
    background: tuple
    clothes: tuple


@dataclass
class _Geometry:
    """Face geometry on the 256 canvas: a CelebA-like crop, the face fills most of the frame."""
    cx: float
    cy: float
    rx: float  # face half-width
    ry: float  # face half-height
    eye_y: float
    eye_dx: float  # eye centre to face centre


def render_face(rng: np.random.Generator, size: int = 64) -> tuple[Image.Image, dict]:
    """Draw one face; returns a size x size RGB image and its attributes. The parts are drawn back to
    front, each taking its random draws from ``rng`` in a fixed order (so a seed names one face)."""
    a = _sample_attributes(rng)
    skin = _jitter(SKIN_TONES[rng.integers(len(SKIN_TONES))], rng, 10)
    hair = _jitter(HAIR_COLOURS[a["hair_colour"]], rng, 14)
    background = tuple(int(c) for c in rng.integers(40, 230, size=3))
    clothes = tuple(int(c) for c in rng.integers(20, 220, size=3))
    colours = _Palette(skin, _mix(skin, (40, 20, 10), 0.25), hair, background, clothes)
    img = Image.new("RGB", (S, S), colours.background)
    d = ImageDraw.Draw(img)
    g = _face_geometry(a, rng)
    _draw_head(d, a, g, colours, rng)
    ew, eh = _draw_eyes(d, a, g, colours.hair, rng)
    _draw_nose_and_mouth(d, a, g, colours, rng)
    if a["eyeglasses"]:
        _draw_glasses(d, g, ew, eh, rng)
    return _pose_and_light(img, g, colours.background, size, rng), {k: a[k] for k in ATTRIBUTES}


def _face_geometry(a: dict, rng: np.random.Generator) -> _Geometry:
    cx, cy = 128.0, 136.0
    rx = rng.uniform(58, 68) + (5 if a["male"] else 0)
    ry = rng.uniform(78, 88)
    eye_y = cy - ry * 0.12 + rng.uniform(-4, 4)
    eye_dx = rx * rng.uniform(0.40, 0.48)
    return _Geometry(cx, cy, rx, ry, eye_y, eye_dx)


def _draw_head(d: ImageDraw.ImageDraw, a: dict, g: _Geometry, colours: _Palette, rng: np.random.Generator) -> None:
    """Hair behind, shoulders, neck, ears, face (squarer jaw for male-ish faces), fringe, age lines."""
    cx, cy, rx, ry, eye_y = g.cx, g.cy, g.rx, g.ry, g.eye_y
    skin, shadow, hair, clothes = colours.skin, colours.shadow, colours.hair, colours.clothes
    # Long hair falls behind the head and shoulders.
    if a["long_hair"]:
        d.rounded_rectangle((cx - rx - 22, cy - ry - 14, cx + rx + 22, S + 10), radius=70, fill=hair)
    # Shoulders and neck.
    d.ellipse(_box(cx, S + 40, 125, 75), fill=clothes)
    d.rectangle((cx - rx * 0.42, cy + ry * 0.5, cx + rx * 0.42, S - 20), fill=shadow)
    # Ears at eye level.
    for side in (-1, 1):
        d.ellipse(_box(cx + side * (rx - 2), eye_y + 14, 11, 19), fill=shadow)
    # Hair cap behind the face, then the face; a squarer jaw for male-ish faces.
    hair_box = _box(cx, cy - ry * 0.22, rx + 9, ry * 0.9)
    if not a["bald"]:
        d.ellipse(hair_box, fill=hair)
    d.ellipse(_box(cx, cy, rx, ry), fill=skin)
    if a["male"]:
        d.rounded_rectangle((cx - rx * 0.86, cy, cx + rx * 0.86, cy + ry * 0.93), radius=int(rx * 0.55), fill=skin)
    # Fringe: the upper part of the hair cap drawn over the forehead gives a hairline.
    if not a["bald"]:
        d.chord(hair_box, 180 + rng.uniform(5, 20), 360 - rng.uniform(5, 20), fill=hair)
        if a["long_hair"] or rng.random() < 0.5:  # side hair framing the face
            for side in (-1, 1):
                d.ellipse(_box(cx + side * (rx - 4), cy - ry * 0.35, 12, ry * 0.45), fill=hair)
    if a["grey_hair"]:  # age: faint forehead lines
        for k in range(2):
            y = cy - ry * 0.50 + 7 * k
            d.arc(_box(cx, y + 30, rx * 0.45, 30), 235, 305, fill=shadow, width=2)


def _draw_eyes(d: ImageDraw.ImageDraw, a: dict, g: _Geometry, hair: tuple,
               rng: np.random.Generator) -> tuple[float, float]:
    """Eyes (white, iris, pupil, highlight) and brows in a darker hair colour; returns the eyes' half-size."""
    cx, eye_y, eye_dx = g.cx, g.eye_y, g.eye_dx
    iris = IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))]
    ew, eh = rng.uniform(13, 16), rng.uniform(6.5, 8.5)
    brow = _mix(hair, (0, 0, 0), 0.35)
    look = rng.uniform(-2.5, 2.5)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        d.ellipse(_box(ex, eye_y, ew, eh), fill=(245, 245, 240))
        d.ellipse(_box(ex + look, eye_y, 6.5, 6.5), fill=iris)
        d.ellipse(_box(ex + look, eye_y, 3, 3), fill=(15, 10, 10))
        d.ellipse(_box(ex + look - 2, eye_y - 2, 1.5, 1.5), fill=(255, 255, 255))
        by = eye_y - rng.uniform(15, 19)
        d.line([(ex - side * 16, by + 3), (ex, by - 2), (ex + side * 14, by + 2)], fill=brow,
               width=6 if a["male"] else 4, joint="curve")
    return ew, eh


def _draw_nose_and_mouth(d: ImageDraw.ImageDraw, a: dict, g: _Geometry, colours: _Palette,
                         rng: np.random.Generator) -> None:
    cx, cy, rx, ry, eye_y = g.cx, g.cy, g.rx, g.ry, g.eye_y
    skin, shadow, hair = colours.skin, colours.shadow, colours.hair
    # Nose: a soft shadow line and the nostrils.
    ny = cy + ry * 0.22
    d.line([(cx + 2, eye_y + 8), (cx + 5, ny)], fill=shadow, width=3)
    d.ellipse(_box(cx - 7, ny + 2, 4, 2.5), fill=shadow)
    d.ellipse(_box(cx + 7, ny + 2, 4, 2.5), fill=shadow)
    # Beard (and moustache) covers the jaw; the mouth is drawn on top.
    my = cy + ry * 0.50
    if a["beard"]:
        beard = _mix(hair, skin, 0.1)
        d.chord(_box(cx, cy + ry * 0.36, rx - 3, ry * 0.62), 0, 180, fill=beard)  # jaw and chin
        d.ellipse(_box(cx, my - 10, 26, 7), fill=beard)  # moustache
    lips = _mix(skin, (170, 40, 50), 0.45 if a["male"] else 0.75)
    mw = rng.uniform(20, 26)
    if a["smiling"]:
        d.chord(_box(cx, my - 6, mw, 16), 0, 180, fill=(90, 20, 25))
        d.rectangle((cx - mw * 0.75, my - 6, cx + mw * 0.75, my - 1), fill=(240, 238, 230))
        d.arc(_box(cx, my - 6, mw, 16), 0, 180, fill=lips, width=4)
    else:
        d.ellipse(_box(cx, my, mw * 0.85, 5.5), fill=lips)
        d.line([(cx - mw * 0.8, my), (cx + mw * 0.8, my)], fill=_mix(lips, (0, 0, 0), 0.4), width=2)


def _draw_glasses(d: ImageDraw.ImageDraw, g: _Geometry, ew: float, eh: float, rng: np.random.Generator) -> None:
    """Dark frames with a bridge."""
    cx, eye_y, eye_dx = g.cx, g.eye_y, g.eye_dx
    frame = _jitter((25, 25, 30), rng, 20)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        d.rounded_rectangle(_box(ex, eye_y, ew + 7, eh + 7), radius=7, outline=frame, width=4)
    d.line([(cx - eye_dx + ew + 7, eye_y - 2), (cx + eye_dx - ew - 7, eye_y - 2)], fill=frame, width=4)


def _pose_and_light(img: Image.Image, g: _Geometry, background: tuple, size: int,
                    rng: np.random.Generator) -> Image.Image:
    """Small pose jitter (rotation, shift on the big canvas), the downsample, then a lighting gradient."""
    cx, cy = g.cx, g.cy
    angle = rng.uniform(-8, 8)
    img = img.rotate(angle, resample=Image.BILINEAR, center=(cx, cy), fillcolor=background,
                     translate=(rng.uniform(-8, 8), rng.uniform(-6, 6)))
    img = img.resize((size, size), Image.LANCZOS)

    # Lighting: a linear gradient from a random direction, brighter on one side.
    arr = np.asarray(img, dtype=np.float32)
    gx, gy = rng.uniform(-0.35, 0.35), rng.uniform(-0.2, 0.2)
    ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    light = 1.0 + gx * ramp[None, :] + gy * ramp[:, None]
    arr = np.clip(arr * light[:, :, None] * rng.uniform(0.85, 1.1), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def render_faces(n: int, seed: int = 0, progress: bool = False, size: int = 64) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Render n faces -> (uint8 images (n, 3, 64, 64), attributes {name: (n,) tensor}).

    Boolean attributes are 0/1 uint8; ``hair_colour`` is an index into :data:`HAIR_NAMES`.
    """
    from tqdm import tqdm

    images = np.empty((n, size, size, 3), dtype=np.uint8)
    columns: dict[str, list[int]] = {k: [] for k in ATTRIBUTES}
    for i in tqdm(range(n), desc="rendering synthetic faces", disable=not progress, unit="img", mininterval=2.0):
        img, attrs = render_face(np.random.default_rng([seed, i]), size)
        images[i] = np.asarray(img)
        for k, v in attrs.items():
            columns[k].append(HAIR_NAMES.index(v) if k == "hair_colour" else int(v))
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()  # (n, 64, 64, 3) -> (n, 3, 64, 64)
    return tensor, {k: torch.tensor(v, dtype=torch.uint8) for k, v in columns.items()}
