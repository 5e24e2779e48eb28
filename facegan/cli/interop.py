"""facegan import | download: NVIDIA's pre-trained StyleGAN2/3 and rosinality checkpoints in, without
running code from the file; data sets and weights fetched (the only network access facegan makes)."""
from __future__ import annotations

import argparse
from pathlib import Path

from facegan.cli.common import Command, Parents, check_export_name, progress_bars
from facegan.data import DEFAULT_MNIST_DIR
from facegan.errors import FaceganError
from facegan.interop.pretrained import IMPORT_KINDS, PRETRAINED


def add_import_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    importer = sub.add_parser("import", help="a pre-trained StyleGAN2/3 (NVIDIA's .pkl or a rosinality .pt) -> a "
                                             "facegan generator export, without running code from the file",
                              description="Reads the generator (G_ema of an official stylegan2-ada-pytorch / stylegan3 "
                                          "pickle, or g_ema of a rosinality stylegan2-pytorch checkpoint) without "
                                          "running anything stored in the file, rebuilds it as facegan's StyleGAN2 or StyleGAN3, "
                                          "checks one forward pass and writes a generator.safetensors that sample, "
                                          "interpolate and mix take.")
    importer.add_argument("kind", choices=IMPORT_KINDS,
                          help="stylegan2: NVIDIA's StyleGAN2 network pickle (.pkl, from stylegan2-ada-pytorch or stylegan3); "
                               "stylegan3: NVIDIA's StyleGAN3-T/R pickle; rosinality: a stylegan2-pytorch checkpoint")
    importer.add_argument("file", help="the file to import")
    importer.add_argument("--out", help="export to write (default: FILE's name with .safetensors, here)")
    importer.add_argument("--fp32", action="store_true", help="store fp32 weights (default fp16: half the size)")
    return importer


def prepare_import(args: argparse.Namespace) -> None:
    if not Path(args.file).is_file():
        raise FaceganError(f"{args.file} not found" if not Path(args.file).exists() else
                           f"{args.file} is not a file")
    args.out = Path(args.out) if args.out else Path(Path(args.file).stem + ".safetensors")
    check_export_name(args.out, args.file)


def run_import(args: argparse.Namespace) -> None:
    from facegan.interop.importers import import_generator

    out, summary = import_generator(args.kind, args.file, args.out, half=not args.fp32)
    print(summary)
    print(f"draw faces: facegan sample --generator {out} --truncation 0.7 --n 16")


def add_download_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    download = sub.add_parser("download", help="fetch a dataset or weights (the only network access facegan makes)")
    download.add_argument("dataset", choices=["celeba-small", "mnist", "inception", *PRETRAINED],
                          help="celeba-small: the Udacity CelebA subset; mnist: MNIST's four IDX files (MD5-checked); "
                               "inception: FID/KID feature weights; "
                               + "; ".join(f"{name}: NVIDIA's {p.what}" for name, p in PRETRAINED.items())
                               + " (fetched, then imported as with facegan import)")
    download.add_argument("--root", help="celeba-small: images go to ROOT/celeba (default processed_celeba_small); "
                                         "mnist: the files go to ROOT (default mnist)")
    download.add_argument("--url", help="a mirror: of the zip (celeba-small), of the folder holding the four .gz "
                                        "files (mnist), of the weights file (inception), of the pickle (stylegan2-*, stylegan3-*)")
    download.add_argument("--force", action="store_true", help="download even if the files are present")
    download.add_argument("--keep-zip", action="store_true", help="celeba-small: keep the zip after unpacking")
    download.add_argument("--out", help="stylegan2-*, stylegan3-*: export to write (default NAME.safetensors)")
    download.add_argument("--fp32", action="store_true", help="stylegan2-*, stylegan3-*: store fp32 weights (default fp16)")
    download.add_argument("--keep-pkl", action="store_true", help="stylegan2-*, stylegan3-*: keep NVIDIA's pickle in the cache")
    return download


def prepare_download(args: argparse.Namespace) -> None:
    if args.dataset in PRETRAINED:
        if args.out:
            check_export_name(Path(args.out), None)
    elif args.out or args.fp32 or args.keep_pkl:
        raise FaceganError(f"--out, --fp32 and --keep-pkl apply to the pre-trained generators "
                           f"({', '.join(PRETRAINED)}), not to {args.dataset}")


def run_download(args: argparse.Namespace) -> None:
    from facegan.interop.download import download_dataset, download_inception, download_mnist, download_pretrained

    bars = progress_bars()  # off when stderr is a log file
    if args.dataset == "inception":
        download_inception(url=args.url, progress=bars)
    elif args.dataset in PRETRAINED:
        out = download_pretrained(args.dataset, args.out, url=args.url, half=not args.fp32, keep_pkl=args.keep_pkl,
                                  progress=bars)
        print(f"draw faces: facegan sample --generator {out} --truncation 0.7 --n 16")
    elif args.dataset == "mnist":
        download_mnist(args.root or DEFAULT_MNIST_DIR, url=args.url, force=args.force, progress=bars)
    else:
        download_dataset(args.dataset, args.root or "processed_celeba_small", url=args.url, force=args.force,
                         keep_zip=args.keep_zip, progress=bars)


def add_export_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    export = sub.add_parser("export", parents=[parents.shows_faces],
                            help="a generator as an ONNX graph (z, and psi for style generators -> images)",
                            description="Exports the generator through torch.export to ONNX (free batch size; "
                                        "style generators take the truncation psi as an input and use their "
                                        "constant noise), runs the graph with onnxruntime and keeps it only if "
                                        "its images match facegan's within 1e-4.")
    out = export.add_mutually_exclusive_group(required=True)
    out.add_argument("--onnx", metavar="OUT.onnx", help="the ONNX file to write")
    out.add_argument("--web", metavar="DIR", help="the browser page's graphs and page.json into DIR (web/build.sh)")
    return export


def prepare_export(args: argparse.Namespace) -> None:
    if args.onnx and Path(args.onnx).suffix != ".onnx":
        raise FaceganError(f"--onnx names an .onnx file (got {args.onnx})")


def run_export(args: argparse.Namespace) -> None:
    from facegan.interop.export import load_generator
    from facegan.interop.onnx import export_onnx, export_page
    from facegan.models.contract import is_style

    G = load_generator(args.generator, exact=args.exact)
    if args.web:
        from facegan.editing.directions import directions_path, edit_vectors, load_directions
        beside = directions_path(args.generator)
        page = export_page(G, edit_vectors(load_directions(beside, G)) if beside.is_file() else {}, args.web)
        print(f"wrote the page's graphs to {args.web}/ ({page['space']} codes, {len(page['edits'])} edit sliders); "
              f"onnxruntime matches facegan within {page['onnx_difference']:.1g}")
        return
    out, difference, dynamic = export_onnx(G, args.onnx)
    n = "N" if dynamic else "1"
    inputs = f"z ({n}, {G.latent_dim})" + (", psi (1,)" if is_style(G) else "")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {inputs} -> images ({n}, {G.channels}, {G.resolution}, "
          f"{G.resolution}); onnxruntime matches facegan within {difference:.1g}")


COMMANDS = [Command("import", add_import_parser, prepare_import, run_import),
            Command("download", add_download_parser, prepare_download, run_download),
            Command("export", add_export_parser, prepare_export, run_export)]
