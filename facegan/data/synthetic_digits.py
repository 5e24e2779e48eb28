"""Procedural handwritten-ish digits, 28x28 grayscale like MNIST: the digit set that ships inside facegan.

Each digit 0-9 is either typeset in one of the fonts matplotlib ships (DejaVu, STIX, Computer Modern:
no download), its strokes thinned or thickened to a random pen width (MinFilter/MaxFilter), or drawn
with a round pen as polylines in one of the forms people write (a 1 with or without a flag, an open
or closed 4, a crossed 7, ...). Then one mesh warp gives it a slant (shear), rotation, aspect and an
elastic distortion (a smooth random displacement field, as Simard et al. 2003 augment MNIST), and a
blur softens the edge as scanned ink. As in MNIST, the result is fitted into a 20x20 box (aspect kept)
and placed in the 28x28 frame by its centre of mass; white ink on black. Digit i has label i % 10
(every class equally common) and its own RNG seeded by (seed, i), so digit i is the same whatever N is.
Rendering takes about a millisecond per digit.

    >>> images, labels = render_digits(12, seed=0)
    >>> images.shape, images.dtype, labels[:12].tolist()
    (torch.Size([12, 1, 28, 28]), torch.uint8, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

RENDER_VERSION = "1"  # part of the cache name: bump it when the rendering changes
CANVAS = 112  # the drawing canvas: digits are about 58 px tall, ~3x the 20 px box they end in
FONT_SIZE = 80
# Regular, bold and slanted cuts of matplotlib's bundled families: serifs or none, the flagged 1,
# open or closed 4, straight or curly 7. (No monospace cut: its 0 is dotted.)
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
         "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
         "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
         "cmr10.ttf", "cmss10.ttf")
PEN_SHARE = 0.5  # the share of digits drawn as pen strokes (below) rather than typeset
MESH = 4  # the warp is piecewise affine on a 4x4 grid of quads (28 px each on the canvas)
HEIGHT = 58  # canvas pixels from a digit's top to its bottom, typeset or drawn


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=None)
def _font(name: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), FONT_SIZE)


@lru_cache(maxsize=None)
def glyph(font: str, digit: int) -> tuple[Image.Image, float]:
    """The digit typeset in ``font``, white on black, centred on the CANVAS x CANVAS canvas (mode L),
    and its mean stroke width in pixels (2 x ink area / ink perimeter: a stroke w wide and L long has
    area wL and perimeter about 2L)."""
    f = _font(font)
    left, top, right, bottom = f.getbbox(str(digit))
    img = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(img).text(((CANVAS - (right - left)) / 2 - left, (CANVAS - (bottom - top)) / 2 - top),
                             str(digit), fill=255, font=f)
    ink = np.asarray(img) > 127
    inside = ink[1:-1, 1:-1] & ink[:-2, 1:-1] & ink[2:, 1:-1] & ink[1:-1, :-2] & ink[1:-1, 2:]
    return img, 2 * ink.sum() / max(1, ink.sum() - inside.sum())


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> list[tuple[float, float]]:
    """Points along an elliptical arc, angles in degrees (0 = right, 90 = down: image coordinates)."""
    t = np.deg2rad(np.linspace(start, end, max(3, int(abs(end - start) / 10))))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


def _pen_strokes(digit: int, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """A handwritten form of the digit as polylines in a unit box (x 0..0.7, y 0..1, y down), with
    the variants people write (a 1 with or without a flag, an open or closed 4, a crossed 7, ...)."""
    u = lambda a, b: rng.uniform(a, b)  # noqa: E731 - a short name keeps the shapes readable
    if digit == 0:
        return [_arc(0.35, 0.5, u(0.22, 0.33), 0.48, -90 + u(-20, 20), 270 + u(0, 25))]
    if digit == 1:
        stem = [(0.4 + u(-0.05, 0.05), 0.0), (0.33 + u(-0.05, 0.05), 1.0)]
        return [[(0.4 - u(0.1, 0.22), u(0.12, 0.3)), *stem]] if rng.random() < 0.4 else [stem]
    if digit == 2:
        top = _arc(0.35, 0.27, 0.28, 0.26, 190 + u(-15, 15), 380 + u(-10, 20))
        foot = [(0.03 + u(0, 0.06), 0.98), (0.66 + u(0, 0.06), 0.97 + u(-0.03, 0.03))]
        loop = [_arc(0.1, 0.9, 0.08, 0.08, -60, 200)] if rng.random() < 0.25 else []  # the looped 2
        return [top + foot] + loop
    if digit == 3:
        return [_arc(0.33, 0.26, 0.27, 0.25, 200 + u(-20, 10), 450),  # the upper bowl, ending at the waist
                _arc(0.33, 0.74, 0.3, 0.26, -90, 160 + u(-20, 10))]
    if digit == 4:
        cross = 0.62 + u(-0.08, 0.06)
        stem_x = 0.48 + u(-0.06, 0.06)
        if rng.random() < 0.5:  # open top: two strokes
            return [[(0.12 + u(-0.06, 0.08), 0.0), (0.04, cross), (0.7, cross)],
                    [(stem_x, 0.25 + u(-0.2, 0.1)), (stem_x, 1.0)]]
        return [[(stem_x, 1.0), (stem_x, 0.0), (0.0, cross), (0.7, cross)]]  # closed, in one stroke
    if digit == 5:
        top = [(0.62 + u(-0.05, 0.05), 0.0), (0.14, 0.02 + u(-0.02, 0.02)), (0.1 + u(-0.04, 0.04), 0.42)]
        return [top + _arc(0.33, 0.68, 0.3, 0.3, -150, 150 + u(-10, 20))]
    if digit == 6:
        stem = _arc(0.62, 0.7, 0.6, 0.7, 235 + u(-10, 10), 180)
        return [stem + _arc(0.34, 0.72, 0.28, 0.27, 180, 540)]
    if digit == 7:
        bend = u(-0.05, 0.05)
        strokes = [[(0.02, 0.05 + u(-0.04, 0.04)), (0.68, 0.0), (0.34 + bend, 0.55), (0.24 + bend, 1.0)]]
        if rng.random() < 0.15:  # the crossed 7
            strokes.append([(0.2 + bend, 0.5), (0.56 + bend, 0.48)])
        return strokes
    if digit == 8:
        return [_arc(0.35, 0.25, 0.22, 0.24, 0, 360), _arc(0.35, 0.73, 0.29, 0.26, -90, 270)]
    # 9: a loop at the top and a straight or curved stem
    loop = _arc(0.33, 0.28, 0.29, 0.27, 0 + u(-10, 10), 360)
    stem = [(0.61, 0.3), (0.56 + u(-0.1, 0.05), 1.0)] if rng.random() < 0.6 else _arc(0.3, 0.3, 0.32, 0.7, 0, 100)
    return [loop + stem]


def pen_digit(digit: int, rng: np.random.Generator, width: float) -> Image.Image:
    """The digit drawn with a round pen ``width`` canvas pixels wide, centred on the canvas (mode L)."""
    img = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(img)
    aspect = rng.uniform(0.75, 1.15)
    for stroke in _pen_strokes(digit, rng):
        points = [((x - 0.35) * HEIGHT * aspect + CANVAS / 2, (y - 0.5) * HEIGHT + CANVAS / 2) for x, y in stroke]
        draw.line(points, fill=255, width=max(1, round(width)), joint="curve")
        r = width / 2  # round caps: PIL's lines end square
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return img


def _restroke(img: Image.Image, width: float, target: float) -> Image.Image:
    """Bring a typeset digit's strokes from ``width`` towards a pen ``target`` wide: each 3x3
    dilation (MaxFilter) adds about 2 px, each erosion (MinFilter) removes 2."""
    steps = int(round((target - width) / 2))
    for _ in range(abs(steps)):
        img = img.filter(ImageFilter.MaxFilter(3) if steps > 0 else ImageFilter.MinFilter(3))
    return img


def _smooth_field(rng: np.random.Generator, points: int, alpha: float) -> np.ndarray:
    """(2, points, points) displacements in canvas pixels: a coarse 4x4 random field, bilinearly
    upsampled to the mesh vertices, so neighbouring vertices move together (a smooth bend, not noise)."""
    coarse = rng.normal(0.0, alpha, size=(2, 4, 4))
    t = np.linspace(0, 3, points)
    i0 = np.minimum(t.astype(int), 2)
    w = t - i0  # (points,)
    rows = coarse[:, i0] * (1 - w)[None, :, None] + coarse[:, i0 + 1] * w[None, :, None]  # (2, points, 4)
    return rows[:, :, i0] * (1 - w)[None, None, :] + rows[:, :, i0 + 1] * w[None, None, :]  # (2, points, points)


def _warp(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Slant, rotation, aspect and the elastic bend in one piecewise-affine mesh warp: each output quad
    reads from the source quad whose corners are the inverse affine map of its corners plus the field."""
    slant = rng.normal(0.12, 0.18)  # handwriting leans right more often than left
    angle = np.deg2rad(rng.normal(0.0, 7.0))
    sx, sy = np.exp(rng.normal(0.0, 0.1)), np.exp(rng.normal(0.0, 0.06))
    c, s = np.cos(angle), np.sin(angle)
    # forward map about the canvas centre: rotation @ shear @ scale; the mesh needs its inverse
    forward = np.array([[c, -s], [s, c]]) @ np.array([[1.0, -slant], [0.0, 1.0]]) @ np.diag([sx, sy])
    grid = np.arange(MESH + 1) * (CANVAS / MESH)  # vertex coordinates along one axis
    xs, ys = np.meshgrid(grid, grid)  # (MESH + 1, MESH + 1) each, [row, column]
    out = np.stack([xs, ys]) - CANVAS / 2  # (2, M+1, M+1) output vertices about the centre
    source = np.einsum("ij,jrq->irq", np.linalg.inv(forward), out) + CANVAS / 2
    source += _smooth_field(rng, MESH + 1, alpha=rng.uniform(1.5, 5.0))
    # the source quads' corners in PIL's order: upper-left, lower-left, lower-right, upper-right
    corners = np.stack([source[:, :-1, :-1], source[:, 1:, :-1], source[:, 1:, 1:], source[:, :-1, 1:]])  # (4,2,M,M)
    quads = corners.transpose(2, 3, 0, 1).reshape(MESH * MESH, 8).tolist()  # row-major over the quads
    edges = grid.round().astype(int).tolist()
    boxes = [(edges[q], edges[r], edges[q + 1], edges[r + 1]) for r in range(MESH) for q in range(MESH)]
    mesh = list(zip(boxes, map(tuple, quads)))
    return img.transform(img.size, Image.MESH, mesh, resample=Image.BILINEAR, fillcolor=0)


def _fit_mnist_frame(ink: np.ndarray, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """MNIST's normalisation: the ink's bounding box scaled (aspect kept) into a box of 20/28 of the
    frame (a little smaller at random), anti-aliased, then placed so its centre of mass is the frame's
    centre (give or take a pixel). (H, W) float in [0, 255] -> (size, size) uint8."""
    ys, xs = np.nonzero(ink > 40)
    if len(ys) == 0:  # everything eroded away (cannot happen with these fonts; kept safe)
        return np.zeros((size, size), np.uint8)
    crop = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    box = size * 20 / 28 * rng.uniform(0.8, 1.0)
    scale = box / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = np.asarray(Image.fromarray(crop.astype(np.uint8)).resize((w, h), Image.LANCZOS), dtype=np.float32)
    total = small.sum()
    cy, cx = ((np.arange(h) * small.sum(1)).sum() / total, (np.arange(w) * small.sum(0)).sum() / total)
    jitter = rng.uniform(-1.0, 1.0, size=2)
    top, left = int(round(size / 2 - cy + jitter[0])), int(round(size / 2 - cx + jitter[1]))
    top, left = min(max(top, 0), size - h), min(max(left, 0), size - w)  # never cut the digit off
    frame = np.zeros((size, size), np.float32)
    frame[top:top + h, left:left + w] = small
    return np.clip(frame, 0, 255).round().astype(np.uint8)


def render_digit(digit: int, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """One digit as a (size, size) uint8 array, white ink on black."""
    pen = float(np.clip(rng.normal(8.0, 1.8), 4.5, 12.0))  # stroke width: MNIST's is 1.5-4 px at 28 px
    if rng.random() < PEN_SHARE:
        img = pen_digit(digit, rng, pen)
    else:
        img, width = glyph(FONTS[rng.integers(len(FONTS))], digit)
        img = _restroke(img, width, pen)
    img = _warp(img, rng)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.8)))  # a soft pen edge, as scanned ink
    return _fit_mnist_frame(np.asarray(img, dtype=np.float32), rng, size)


def render_digits(n: int, seed: int = 0, progress: bool = False, size: int = 28,
                  start: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Digits ``start`` .. ``start + n - 1`` -> (uint8 images (n, 1, size, size), int64 labels (n,)).
    Digit i shows i % 10; ``start`` beyond a training set's count gives a disjoint held-out set."""
    from tqdm import tqdm

    images = np.empty((n, size, size), dtype=np.uint8)
    labels = (torch.arange(start, start + n) % 10).long()
    for k in tqdm(range(n), desc="rendering digits", disable=not progress, unit="img", mininterval=2.0):
        i = start + k
        images[k] = render_digit(i % 10, np.random.default_rng([seed, i]), size)
    return torch.from_numpy(images)[:, None], labels  # (n, 28, 28) -> (n, 1, 28, 28)
