"""Style mixing (style generators): faces whose layers take their styles from two seeds, and the figure.

A style generator maps z (N, latent_dim) to ws (N, num_ws, w_dim): one w per synthesis layer, all
equal unless mixed. Which layer a w drives decides what it controls (StyleGAN, Karras et al. 2019,
figure 3): coarse ws (4-8 px layers) pose and face shape, middle ones (16-32 px) features and hair,
fine ones (64 px and up) colours and micro-structure.
"""
from __future__ import annotations

import torch
from PIL import Image

from facegan.errors import FaceganError
from facegan.latent import codes_for_seeds, render, require_style_generator, ws_from_codes
from facegan.viz import labelled_grid

GROUP_RESOLUTIONS = {"coarse": (4, 8), "middle": (16, 32), "fine": (64, 1024)}


def layer_resolutions(generator: torch.nn.Module) -> list[int]:
    """The image side each of the num_ws ws drives (the synthesis network knows its layout: StyleGAN2's
    64 px [4, 8, 8, 16, 16, 32, 32, 64, 64, 64], the AdaIN block's [4, 4, 8, 8, ..., 64, 64])."""
    return generator.synthesis.ws_resolutions()


def parse_layers(text: str, generator: torch.nn.Module) -> list[int]:
    """'coarse' / 'middle' / 'fine' (by resolution) or a range of ws indices 'A-B' (inclusive) or 'A'."""
    if text in GROUP_RESOLUTIONS:
        low, high = GROUP_RESOLUTIONS[text]
        layers = [i for i, side in enumerate(layer_resolutions(generator)) if low <= side <= high]
        if not layers:
            raise FaceganError(f"this {generator.resolution} px generator has no {text} layers ({low}-{high} px); "
                               f"use the other groups or a layer range A-B within 0-{generator.num_ws - 1}")
        return layers
    first, _, last = text.partition("-")
    try:
        layers = list(range(int(first), int(last or first) + 1))
    except ValueError:
        layers = []
    if not layers or layers[0] < 0 or layers[-1] >= generator.num_ws:
        raise FaceganError(f"styles must be coarse, middle, fine or a layer range A-B within 0-{generator.num_ws - 1} "
                           f"(got {text!r})")
    return layers


def mixing_grid(generator: torch.nn.Module, row_seeds: list[int], col_seeds: list[int], groups: list[str],
                truncation: float = 1.0) -> tuple[torch.Tensor, list[str]]:
    """The style-mixing figure's faces, row by row: (1 + len(groups) * len(row_seeds)) rows of
    (1 + len(col_seeds)) faces. Row 0: a blank cell, then each column seed's face (source A). Then per
    group, per row seed (source B): B's face, then each A with the group's layers taken from B.
    Returns the faces (N, C, H, W) and one label per row."""
    require_style_generator(generator, "W space")
    ws_rows = ws_from_codes(generator, codes_for_seeds(generator, row_seeds, truncation))  # (R, num_ws, w_dim)
    ws_cols = ws_from_codes(generator, codes_for_seeds(generator, col_seeds, truncation))  # (K, num_ws, w_dim)
    mixed, labels = [], [""]
    for group in groups:
        layers = torch.tensor(parse_layers(group, generator), dtype=torch.long, device=ws_rows.device)
        for r in range(len(row_seeds)):
            ws = ws_cols.clone()
            ws[:, layers] = ws_rows[r, layers]  # every A takes B's ws at these layers
            mixed += [ws_rows[r:r + 1], ws]
            labels.append(group)
    faces = render(generator, torch.cat([ws_cols] + mixed))
    blank = torch.ones_like(faces[:1])  # white
    return torch.cat([blank, faces]), labels


def mixing_figure(generator: torch.nn.Module, row_seeds: list[int], col_seeds: list[int], groups: list[str],
                  truncation: float = 1.0, scale: int = 1) -> Image.Image:
    """The classic style-mixing figure as one image, with each row's style group written on its left."""
    faces, labels = mixing_grid(generator, row_seeds, col_seeds, groups, truncation)
    once = ["B \\ A"] + [label if label != labels[i] else "" for i, label in enumerate(labels[1:])]  # once per band
    return labelled_grid(faces, len(col_seeds) + 1, once, scale)
