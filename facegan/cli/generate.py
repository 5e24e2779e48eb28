"""facegan sample | interpolate | mix: faces from a trained or imported generator."""
from __future__ import annotations

import argparse
import math

from facegan.cli.common import Command, Parents, generator_and_device, progress_bars, seed_list
from facegan.errors import FaceganError, require_int_at_least


def add_sample_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    sample = sub.add_parser("sample", parents=[parents.shows_faces, parents.truncation],
                            help="draw faces from a trained generator")
    sample.add_argument("--n", type=int, default=64, help="how many faces (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="the same seed gives the same faces (default 0)")
    out = sample.add_mutually_exclusive_group()
    out.add_argument("--out", default="faces.png", help="grid PNG to write (default faces.png)")
    out.add_argument("--separate", metavar="DIR", help="write one PNG per face into DIR instead of a grid")
    sample.add_argument("--nrow", type=int, help="faces per grid row (default: square)")
    sample.add_argument("--rotate", type=float, default=0.0, metavar="DEG",
                        help="StyleGAN3 only: turn the faces by DEG degrees, counter-clockwise (default 0)")
    sample.add_argument("--translate", default="0,0", metavar="X,Y",
                        help="StyleGAN3 only: move the faces by X,Y half-widths of the image (default 0,0)")
    return sample


def prepare_sample(args: argparse.Namespace) -> None:
    require_int_at_least("--n", args.n)
    if args.nrow is not None:
        require_int_at_least("--nrow", args.nrow)
    args.translate = parse_translate(args.translate)
    if not math.isfinite(args.rotate):
        raise FaceganError(f"--rotate must be a finite number of degrees (got {args.rotate})")


def parse_translate(text: str) -> tuple[float, float]:
    """'X,Y' -> (x, y): finite numbers, in half-widths of the image (StyleGAN3's input transform)."""
    parts = text.split(",")
    try:
        x, y = (float(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        x = y = None
    if x is None or not (math.isfinite(x) and math.isfinite(y)):
        raise FaceganError(f"--translate takes X,Y: two numbers, in half-widths of the image (got {text!r}; e.g. 0.2,0)")
    return x, y


def run_sample(args: argparse.Namespace) -> None:
    """Faces are written (or placed in the uint8 grid) chunk by chunk as they are drawn: memory holds one
    chunk of float images however large --n is (100 faces at 1024 px would be 1.2 GB of floats)."""
    from tqdm import tqdm

    from facegan.interop.export import describe_training_data, trained_on
    from facegan.latent import sample_chunks, transformed
    from facegan.viz import GridCanvas, save_images

    G, _ = generator_and_device(args)
    canvas, written = None, 0
    with transformed(G, args.rotate, args.translate), \
            tqdm(total=args.n, unit="face", disable=not progress_bars(), desc="drawing") as bar:
        for faces in sample_chunks(G, args.n, args.seed, args.truncation):
            if args.separate:
                save_images(faces, args.separate, start=written)
            else:
                canvas = canvas or GridCanvas(args.n, *faces.shape[1:], nrow=args.nrow)
                canvas.add(faces)
            written += len(faces)
            bar.update(len(faces))
    learnt = trained_on(args.generator)
    said = f", by a generator trained on {describe_training_data(learnt)}" if learnt else ""
    if args.separate:
        print(f"wrote {written} faces to {args.separate}/{said}")
    else:
        canvas.save(args.out)
        print(f"wrote {args.n} faces (seed {args.seed}) to {args.out}{said}")


def add_interpolate_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    interp = sub.add_parser("interpolate", parents=[parents.shows_faces, parents.truncation],
                            help="a strip of faces along a latent path between two seeds")
    interp.add_argument("--seed-a", type=int, default=0, help="seed of the first face (default 0)")
    interp.add_argument("--seed-b", type=int, default=1, help="seed of the last face (default 1)")
    interp.add_argument("--steps", type=int, default=10, help="faces in the strip (default 10)")
    interp.add_argument("--space", choices=["z", "w"], default="z",
                        help="z: slerp between the latents; w: a straight line between their styles "
                             "(style generators) (default z)")
    interp.add_argument("--out", default="interpolation.png", help="strip PNG to write (default interpolation.png)")
    interp.add_argument("--gif", metavar="PATH", help="also an animated GIF of the path, there and back")
    return interp


def prepare_interpolate(args: argparse.Namespace) -> None:
    require_int_at_least("--steps", args.steps)


def run_interpolate(args: argparse.Namespace) -> None:
    from facegan.latent import interpolate
    from facegan.viz import save_grid

    G, _ = generator_and_device(args)
    if args.space == "w":
        from facegan.latent import interpolate_w
        faces = interpolate_w(G, args.seed_a, args.seed_b, args.steps, args.truncation)
    else:
        faces = interpolate(G, args.seed_a, args.seed_b, args.steps, args.truncation)
    save_grid(faces, args.out, nrow=args.steps)
    print(f"wrote a {args.steps}-step interpolation in {args.space} (seed {args.seed_a} -> {args.seed_b}) "
          f"to {args.out}")
    if args.gif:
        from facegan.viz import save_gif

        save_gif(faces, args.gif)
        print(f"wrote {args.gif}")


def add_mix_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    mix = sub.add_parser("mix", parents=[parents.shows_faces, parents.truncation],
                         help="the style-mixing figure of a style generator (stylegan2)",
                         description="Top row: the column seeds' faces (A). Each further row: a row seed's face "
                                     "(B), then every A with B's styles at one group of layers: coarse (4-8 px: "
                                     "pose, face shape), middle (16-32 px: features, hair), fine (64 px+: colours).")
    mix.add_argument("--rows", default="1,2,3", help="row seeds B, comma-separated (default 1,2,3)")
    mix.add_argument("--cols", default="4,5,6,7,8", help="column seeds A, comma-separated (default 4,5,6,7,8)")
    mix.add_argument("--styles", default="coarse,middle,fine",
                     help="which of B's layers each band copies: coarse, middle, fine or a range of layer indices "
                          "A-B, comma-separated (default coarse,middle,fine)")
    mix.add_argument("--out", default="style_mixing.png", help="PNG to write (default style_mixing.png)")
    return mix


def prepare_mix(args: argparse.Namespace) -> None:
    args.rows, args.cols = seed_list("--rows", args.rows), seed_list("--cols", args.cols)
    args.styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    if not args.styles:
        raise FaceganError("--styles needs at least one of coarse, middle, fine or a layer range A-B")


def run_mix(args: argparse.Namespace) -> None:
    from facegan.editing.mixing import mixing_figure, require_style_generator
    from facegan.fileio import atomic_path

    G, _ = generator_and_device(args)
    require_style_generator(G, "facegan mix")
    figure = mixing_figure(G, args.rows, args.cols, args.styles, args.truncation)
    with atomic_path(args.out) as tmp:
        figure.save(tmp, format="PNG")
    print(f"wrote style mixing of rows {args.rows} into columns {args.cols} ({', '.join(args.styles)}) to {args.out}")


COMMANDS = [Command("sample", add_sample_parser, prepare_sample, run_sample),
            Command("interpolate", add_interpolate_parser, prepare_interpolate, run_interpolate),
            Command("mix", add_mix_parser, prepare_mix, run_mix)]
