"""CPU time and memory per face of StyleGAN3-T and -R at NVIDIA's released sizes (256 and 1024 px).

    python bench/stylegan3_speed.py [--repeats 3] [--json FILE.jsonl]

Each configuration runs in its own process (so its peak resident memory is its own): facegan's StyleGAN3
built at the released networks' shapes (FFHQ-U 256: --cbase 16384; 1024: the default 32768; R doubles
both channel figures, as NVIDIA's train.py does), random weights (the time does not depend on them), fp32,
batch 1, one warm-up face, then the median of ``--repeats`` faces. Nothing else should run meanwhile.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import lib  # first: this checkout's facegan

CONFIGS = {  # name -> (resolution, Generator keyword arguments), as NVIDIA's train.py sets them
    "T-256": (256, dict(channel_base=16384, channel_max=512)),
    "R-256": (256, dict(channel_base=32768, channel_max=1024, conv_kernel=1, use_radial_filters=True)),
    "T-1024": (1024, dict(channel_base=32768, channel_max=512)),
    "R-1024": (1024, dict(channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True)),
}


def measure(name: str, repeats: int) -> dict:
    import torch

    from facegan.models.stylegan3.networks import Generator

    resolution, kwargs = CONFIGS[name]
    torch.manual_seed(0)
    G = Generator(512, 512, resolution, 3, **kwargs).eval()
    z = torch.randn(1, 512)
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            G(z, truncation_psi=0.7)
            if i:  # the first face warms the allocator and the kernels' caches
                times.append(time.perf_counter() - start)
    return {"config": name, "resolution": resolution, "params_M": round(sum(p.numel() for p in G.parameters()) / 1e6, 1),
            "seconds_per_face": round(statistics.median(times), 2), "seconds_all": [round(t, 2) for t in times],
            "peak_rss_GB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="append one line per configuration here (with lib.record's provenance)")
    parser.add_argument("--one", choices=CONFIGS, help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.repeats)))
        return
    for name in CONFIGS:
        done = subprocess.run([sys.executable, __file__, "--one", name, "--repeats", str(args.repeats)],
                              capture_output=True, text=True, check=True)
        record = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:>7}: {record['params_M']:5.1f} M parameters, {record['seconds_per_face']:6.2f} s per face "
              f"(runs {record['seconds_all']}), peak RSS {record['peak_rss_GB']:.2f} GB, {record['threads']} threads")
        if args.json:
            lib.record(args.json, {"bench": "stylegan3_speed", **record})


if __name__ == "__main__":
    main()
