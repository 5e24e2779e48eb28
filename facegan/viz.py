"""Figures: image grids and training curves, written atomically."""
from __future__ import annotations

import io
import math
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from facegan.data.images import to_uint8
from facegan.fileio import atomic_path


class GridCanvas:
    """A grid of ``n`` images (C, H, W) filled in as they come (``add``), held as uint8: a grid of many HD
    faces costs its own pixels, never the float images drawn for it."""

    def __init__(self, n: int, channels: int, height: int, width: int, nrow: int | None = None, padding: int = 2):
        self.nrow = nrow or math.ceil(math.sqrt(n))
        self.size, self.padding, self.filled = (height, width), padding, 0
        rows = math.ceil(n / self.nrow)
        self.canvas = torch.zeros(channels, rows * (height + padding) + padding,
                                  self.nrow * (width + padding) + padding, dtype=torch.uint8)

    def add(self, images: torch.Tensor) -> None:
        """The next images (N, C, H, W) in [-1, 1], in order."""
        (h, w), p = self.size, self.padding
        for pixels in to_uint8(images.cpu()):
            r, c = divmod(self.filled, self.nrow)
            self.canvas[:, p + r * (h + p):p + r * (h + p) + h, p + c * (w + p):p + c * (w + p) + w] = pixels
            self.filled += 1

    def image(self, scale: int = 1) -> Image.Image:
        img = _to_pil(self.canvas)
        return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img

    def save(self, path: str | Path) -> Path:
        with atomic_path(path) as tmp:
            self.image().save(tmp, format="PNG")
        return Path(path)


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1) -> Image.Image:
    """(N, C, H, W) in [-1, 1], C = 3 (RGB) or 1 (grey) -> one PIL image, nrow per row (default: square-ish)."""
    canvas = GridCanvas(images.shape[0], *images.shape[1:], nrow=nrow, padding=padding)
    canvas.add(images)
    return canvas.image(scale)


def labelled_grid(images: torch.Tensor, nrow: int, labels: list[str], scale: int = 1,
                  label_width: int = 56) -> Image.Image:
    """grid_image with a white margin on the left where ``labels[i]`` (one per row; "" for none) is
    written at the height of row i."""
    grid = grid_image(images, nrow=nrow, scale=scale).convert("RGB")
    figure = Image.new("RGB", (grid.width + label_width, grid.height), "white")
    figure.paste(grid, (label_width, 0))
    draw = ImageDraw.Draw(figure)
    row_height = grid.height / math.ceil(len(images) / nrow)
    for i, label in enumerate(labels):
        if label:
            draw.text((4, math.floor(i * row_height + row_height / 2) - 5), label, fill="black")
    return figure


def captioned(figure: Image.Image, caption: str, margin: int = 4) -> Image.Image:
    """``figure`` with a white band below it where ``caption`` is written, wrapped at word boundaries to
    the figure's width (the band grows a line at a time); keeps the figure's mode (greyscale stays "L")."""
    try:
        font = ImageFont.load_default(size=12)  # Pillow >= 10.1: Aileron where FreeType is built in, else bitmap
    except TypeError:  # older Pillow (requirements allow 9.5): its small bitmap font
        font = ImageFont.load_default()
    draw = ImageDraw.Draw(figure)
    lines: list[str] = []
    for word in caption.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(joined, font=font) <= figure.width - 2 * margin:
            lines[-1] = joined
        else:
            lines.append(word)  # a word wider than the figure gets a line of its own (cut by the edge)
    line_height = font.getbbox("Ag")[3] + 2
    white, black = (255, 0) if figure.mode == "L" else ("white", "black")
    out = Image.new(figure.mode, (figure.width, figure.height + len(lines) * line_height + 2 * margin), white)
    out.paste(figure, (0, 0))
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((margin, figure.height + margin + i * line_height), line, fill=black, font=font)
    return out


def _to_pil(pixels: torch.Tensor) -> Image.Image:
    """uint8 (C, H, W) with C = 3 or 1 -> an RGB or greyscale PIL image."""
    if pixels.shape[0] == 1:
        return Image.fromarray(pixels[0].numpy())  # 2-D uint8 -> mode "L"
    return Image.fromarray(pixels.permute(1, 2, 0).numpy())  # (3, H, W) -> (H, W, 3)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 1) -> Path:
    with atomic_path(path) as tmp:
        grid_image(images, nrow, scale=scale).save(tmp, format="PNG")
    return Path(path)


def save_gif(frames: torch.Tensor, path: str | Path, seconds: float = 2.0, scale: int = 2,
             boomerang: bool = True) -> Path:
    """An animated GIF (looping) of frames (T, C, H, W) in [-1, 1]: forth, then back when ``boomerang``."""
    data = gif_bytes(frames, seconds, scale, boomerang)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def gif_bytes(frames: torch.Tensor, seconds: float = 2.0, scale: int = 2, boomerang: bool = True) -> bytes:
    """save_gif's file as bytes (the app serves it without touching the disk)."""
    pixels = list(to_uint8(frames.cpu()))
    if boomerang and len(pixels) > 2:
        pixels += pixels[-2:0:-1]
    images = [_to_pil(p) for p in pixels]
    images = [im.resize((im.width * scale, im.height * scale), Image.LANCZOS) for im in images] if scale > 1 else images
    # 256 colours per frame by octree: as good to the eye as PIL's default median cut here, ~50x faster
    images = [im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE) for im in images]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(20, round(1000 * seconds / len(images))))
    return buffer.getvalue()


def save_images(images: torch.Tensor, folder: str | Path, prefix: str = "face", start: int = 0) -> list[Path]:
    """One PNG per image: folder/face_0000.png, ... (numbered from ``start``: chunk after chunk)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, pixels in enumerate(to_uint8(images.cpu()), start):
        path = folder / f"{prefix}_{i:04d}.png"
        with atomic_path(path) as tmp:
            _to_pil(pixels).save(tmp, format="PNG")
        paths.append(path)
    return paths


def plot_losses(history: list[dict], path: str | Path | None = None, metric_history: list[dict] = ()):
    """Panels over training steps: D and G losses; mean D(x) and D(G(z)); and, when the run evaluated
    metrics, SWD and MS-SSIM diversity. Returns the figure (and saves it when ``path`` is given)."""
    from matplotlib.figure import Figure  # no pyplot: no global state, works on any backend

    panels = 3 if metric_history else 2
    fig = Figure(figsize=(5 * panels, 3.6))
    axes = fig.subplots(1, panels)
    ax_loss, ax_prob = axes[0], axes[1]
    steps = [h["step"] for h in history]
    ax_loss.plot(steps, [h["d_loss"] for h in history], label="D loss")
    ax_loss.plot(steps, [h["g_loss"] for h in history], label="G loss")
    ax_loss.set_xlabel("step"), ax_loss.set_title("losses"), ax_loss.legend()
    ax_prob.plot(steps, [h["d_real"] for h in history], label="D(x)")
    ax_prob.plot(steps, [h["d_fake"] for h in history], label="D(G(z))")
    ax_prob.set_ylim(0, 1), ax_prob.set_xlabel("step"), ax_prob.set_title("discriminator outputs")
    ax_prob.legend()
    if metric_history:
        _plot_metrics(axes[2], metric_history)
    fig.tight_layout()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    return fig


def _plot_metrics(ax, metric_history: list[dict]) -> None:
    """SWD (left axis, lower is better) and MS-SSIM diversity (right axis, with the real reference)."""
    steps = [m["step"] for m in metric_history]
    lines = []
    if "swd_avg" in metric_history[0]:
        lines += ax.plot(steps, [m["swd_avg"] for m in metric_history], "o-", color="C0", label="SWD avg x1e3")
        ax.set_ylabel("SWD x1e3 (lower is better)", color="C0")
    if "msssim" in metric_history[0]:
        twin = ax.twinx()
        lines += twin.plot(steps, [m["msssim"] for m in metric_history], "s-", color="C1", label="MS-SSIM fakes")
        lines.append(twin.axhline(metric_history[-1]["msssim_real"], color="C1", ls="--", lw=1, label="MS-SSIM real"))
        twin.set_ylabel("MS-SSIM (lower = more diverse)", color="C1")
        twin.set_ylim(0, 1.05)  # MS-SSIM lies in [0, 1]: a fixed scale keeps runs comparable
    # One legend for both axes, under the panel: inside, it covered the curves (early MS-SSIM is near 1).
    ax.legend(handles=lines, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3, fontsize=8, frameon=False)
    ax.set_xlabel("step"), ax.set_title("quality metrics")
