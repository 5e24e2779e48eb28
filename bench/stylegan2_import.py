"""Costs of NVIDIA-size StyleGAN2 generators on this machine: importing an official-format pickle of
the full FFHQ config (G, D and G_ema, as big as NVIDIA's ffhq.pkl) and drawing one HD face.

    python bench/stylegan2_import.py [--resolutions 256,512,1024] [--repeats 3] [--no-import]

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
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the official-format fixture writer

from facegan.interop.stylegan import import_generator  # noqa: E402
from facegan.models.stylegan2 import Discriminator, Generator  # noqa: E402

CONFIGS = {1024: (32768, 512, None), 512: (32768, 512, 256), 256: (16384, 512, 256)}  # base, max, conv_clamp


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@torch.no_grad()
def face_seconds(G: Generator, repeats: int) -> float:
    z = torch.randn(1, G.latent_dim, generator=torch.Generator().manual_seed(0))
    G(z, noise_mode="const")  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        G(z, truncation_psi=0.7, noise_mode="const")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_cost(G: Generator, folder: Path) -> str:
    from official_format import dumps, official_init_kwargs, official_snapshot, persistent

    D = Discriminator(G.resolution, 3, G.channel_base, G.channel_max, G.conv_clamp)
    snapshot = official_snapshot(G, D)
    snapshot["G"] = persistent(copy.deepcopy(G), official_init_kwargs(G))  # its own weights, as in a real file
    pkl = folder / "ffhq-size.pkl"
    pkl.write_bytes(dumps(snapshot))
    del snapshot
    start = time.perf_counter()
    out, _ = import_generator("stylegan2", pkl, folder / "ffhq-size.safetensors")
    seconds = time.perf_counter() - start
    return (f"import of a {pkl.stat().st_size / 1e6:.0f} MB official-format pickle (G, D, G_ema): {seconds:.1f} s "
            f"(read, check, one forward pass, fp16 export of {out.stat().st_size / 1e6:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="256,512,1024")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-import", action="store_true", help="only the forward passes")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}")
    for res in [int(r) for r in args.resolutions.split(",")]:
        base, cmax, clamp = CONFIGS[res]
        torch.manual_seed(0)
        G = Generator(512, 512, res, 3, base, cmax, 8, clamp).eval()
        params = sum(p.numel() for p in G.parameters()) / 1e6
        seconds = face_seconds(G, args.repeats)
        print(f"{res} px ({params:.1f} M parameters): {seconds:.2f} s per face, peak memory {peak_mb():.0f} MB")
        if res == max(CONFIGS) and not args.no_import:
            with tempfile.TemporaryDirectory() as folder:
                print("  " + import_cost(G, Path(folder)) + f", peak memory {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
