"""Costs of NVIDIA-size StyleGAN2 generators on this machine: importing an official-format pickle of
the full FFHQ config (G, D and G_ema, as big as NVIDIA's ffhq.pkl) and drawing one HD face.

    python bench/stylegan2_import.py [--resolutions 256,512,1024] [--repeats 3] [--no-import] [--json FILE.jsonl]

Random weights (no download): the cost of a forward pass does not depend on their values. Per
resolution, NVIDIA's configuration of that size: 1024 and 512 px config F (channel_base 32768,
channel_max 512, 8 mapping layers), 256 px the ADA paper's (channel_base 16384). Prints the time of
one face (batch 1, noise const, fp32, the median of ``--repeats`` after one warm-up pass) and the
process's peak resident memory; for the import, the time and the size of the pickle and the export.
Other processes share a small machine's cores: compare figures from one run.
"""
from __future__ import annotations

import argparse
import copy
import resource
import statistics
import tempfile
from pathlib import Path

import lib  # noqa: F401  (first: this checkout's facegan)
import nvidia_format
import torch

from facegan.interop.importers import import_generator
from facegan.models.stylegan2 import Discriminator, Generator

CONFIGS = {1024: (32768, 512, None), 512: (32768, 512, 256), 256: (16384, 512, 256)}  # base, max, conv_clamp


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@torch.no_grad()
def face_seconds(G: Generator, repeats: int) -> float:
    z = torch.randn(1, G.latent_dim, generator=torch.Generator().manual_seed(0))
    G(z, noise_mode="const")  # warm-up (not the timed call's arguments: as before, one pass of each kind)
    return statistics.median(lib.call_times(lambda: G(z, truncation_psi=0.7, noise_mode="const"), repeats, warmup=0))


def import_cost(G: Generator, folder: Path) -> dict:
    """Write an official-format pickle of G's size (G, D and G_ema) and time facegan's import of it."""
    D = Discriminator(G.resolution, 3, G.channel_base, G.channel_max, G.conv_clamp)
    pkl = folder / "ffhq-size.pkl"
    pkl.write_bytes(nvidia_format.dumps(nvidia_format.training_snapshot(copy.deepcopy(G), D, G)))
    watch = lib.Stopwatch()
    out, _ = import_generator("stylegan2", pkl, folder / "ffhq-size.safetensors")
    return {"pickle_mb": round(pkl.stat().st_size / 1e6), "seconds": round(watch.seconds(), 2),
            "export_mb": round(out.stat().st_size / 1e6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="256,512,1024")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-import", action="store_true", help="only the forward passes")
    parser.add_argument("--json", help="append the figures here (JSON lines, with lib.record's provenance)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}")
    rows = []
    for res in [int(r) for r in args.resolutions.split(",")]:
        base, cmax, clamp = CONFIGS[res]
        torch.manual_seed(0)
        G = Generator(512, 512, res, 3, base, cmax, 8, clamp).eval()
        params = sum(p.numel() for p in G.parameters()) / 1e6
        seconds = face_seconds(G, args.repeats)
        print(f"{res} px ({params:.1f} M parameters): {seconds:.2f} s per face, peak memory {peak_mb():.0f} MB")
        row = {"bench": "stylegan2_import", "resolution": res, "parameters_m": round(params, 1),
               "seconds_per_face": round(seconds, 3), "repeats": args.repeats, "peak_mb": round(peak_mb())}
        if res == max(CONFIGS) and not args.no_import:
            with tempfile.TemporaryDirectory() as folder:
                row["import"] = {**import_cost(G, Path(folder)), "peak_mb": round(peak_mb())}
            cost = row["import"]
            print(f"  import of a {cost['pickle_mb']} MB official-format pickle (G, D, G_ema): {cost['seconds']:.1f} s "
                  f"(read, check, one forward pass, fp16 export of {cost['export_mb']} MB), peak memory "
                  f"{cost['peak_mb']} MB")
        rows.append(row)
    if args.json:
        lib.record(args.json, rows, jsonl=True)


if __name__ == "__main__":
    main()
