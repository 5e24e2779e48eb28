"""CPU time and memory per face of StyleGAN3-T and -R (and StyleGAN2) at NVIDIA's released sizes, the fast
path against the reference path in the same run.

    python bench/stylegan3_speed.py [--configs T-1024,R-1024,...] [--paths exact,fast] [--repeats 3]
        [--warmup 1] [--layers] [--json FILE.jsonl]
    python bench/stylegan3_speed.py --write-export T-1024 OUT.safetensors   # a random HD model for the app

Each (configuration, path) runs in its own process, so its peak resident memory is its own: facegan's
StyleGAN3 built at the released networks' shapes (FFHQ-U 256: channel_base 16384; 1024: the default 32768;
R doubles both channel figures, as NVIDIA's train.py does) or its StyleGAN2 at the FFHQ 1024 shape
(SG2-1024), random weights (the time does not depend on them), fp32, batch 1, truncation 0.7, ``--warmup``
faces, then the median of ``--repeats`` faces (``--paths``: see --help; "fast" draws as ``facegan sample``
does); the speed-up is the reference path's median over the fast
path's, measured in the same run (these machines are shared: compare within a run), and the largest
absolute difference between the two paths' images (the same z; images span about +-1). ``--layers`` adds, for
the last face, each synthesis layer's milliseconds and the most resident memory it added above what the
process held when it started (a 1 ms sampler of /proc/self/statm): where the time and the memory go.
Nothing else should run meanwhile.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import lib  # first: this checkout's facegan

SG3 = {  # name -> (resolution, Generator keyword arguments), as NVIDIA's train.py sets them
    "T-256": (256, dict(channel_base=16384, channel_max=512)),
    "R-256": (256, dict(channel_base=32768, channel_max=1024, conv_kernel=1, use_radial_filters=True)),
    "T-1024": (1024, dict(channel_base=32768, channel_max=512)),
    "R-1024": (1024, dict(channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True)),
}
CONFIGS = [*SG3, "SG2-1024"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakSampler:
    """The largest resident set seen since the last ``reset`` (a daemon thread reading it every ms)."""

    def __init__(self):
        self.peak = self.start = resident_bytes()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, resident_bytes())
            time.sleep(0.001)

    def reset(self) -> None:
        self.peak = self.start = resident_bytes()


def build(name: str):
    import torch

    torch.manual_seed(0)
    if name == "SG2-1024":  # the FFHQ 1024 network's shape (config F: channel_base 32768, 512 maps, 8 FC)
        from facegan.models.stylegan2.networks import Generator as SG2

        return SG2(latent_dim=512, w_dim=512, resolution=1024, channels=3, channel_base=32768, channel_max=512,
                   mapping_layers=8).eval()
    from facegan.models.stylegan3.networks import Generator

    resolution, kwargs = SG3[name]
    return Generator(512, 512, resolution, 3, **kwargs).eval()


def layer_profile(G, sampler: PeakSampler) -> list[dict]:
    """Hooks that time each synthesis layer and record its peak memory above its start."""
    rows = []

    def before(module, args):
        module._t0 = time.perf_counter()
        sampler.reset()

    def after(module, args, output):
        rows.append({"layer": module._profile_name, "ms": round((time.perf_counter() - module._t0) * 1000, 1),
                     "added_MB": round((sampler.peak - sampler.start) / 1e6), "out": list((output[0] if isinstance(output, tuple) else output).shape[1:])})

    for name, module in G.synthesis.named_children():
        module._profile_name = name
        module.register_forward_pre_hook(before)
        module.register_forward_hook(after)
    return rows


def measure(name: str, path: str, repeats: int, warmup: int, layers: bool, image_file: str) -> dict:
    import torch
    from safetensors.torch import save_file

    from facegan.latent import generate

    sampler = PeakSampler()
    G = build(name)
    G.exact = path != "fast"
    rows = layer_profile(G, sampler) if layers else []
    z = torch.randn(1, 512, generator=torch.Generator().manual_seed(1))
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            rows.clear()
            start = time.perf_counter()
            # "exact": NVIDIA's ops called as NVIDIA's code calls them; the others as facegan's commands draw
            # (latent.generate: the fast path by default, and freed memory reused, facegan/models/heap.py)
            image = G(z, truncation_psi=0.7) if path == "exact" else generate(G, z, truncation_psi=0.7)
            if i >= warmup:  # the warm-up faces fill the allocator and the kernels' caches
                times.append(time.perf_counter() - start)
    save_file({"image": image.contiguous()}, image_file)
    return {"config": name, "path": path, "params_M": round(sum(p.numel() for p in G.parameters()) / 1e6, 1),
            "seconds_per_face": round(statistics.median(times), 2), "seconds_all": [round(t, 2) for t in times],
            "peak_rss_GB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "layers": list(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--paths", default="exact,fast",
                        help="comma-separated: exact (NVIDIA's reference ops, called as NVIDIA's code calls them), "
                             "fast (facegan's default: the fast path, drawn by facegan.latent.generate), exact-heap "
                             "(facegan --exact: the reference ops drawn by facegan.latent.generate)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--layers", action="store_true", help="per-layer milliseconds and memory of the last face")
    parser.add_argument("--json", help="append one line per configuration and path here (with lib.record's provenance)")
    parser.add_argument("--write-export", nargs=2, metavar=("CONFIG", "OUT"),
                        help="write CONFIG's random-weight generator as an fp16 export (for bench/app_latency.py)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's job: CONFIG:PATH:IMAGE_FILE
    args = parser.parse_args()
    if args.one:
        name, path, image_file = args.one.split(":")
        print(json.dumps(measure(name, path, args.repeats, args.warmup, args.layers, image_file)))
        return
    if args.write_export:
        from facegan.interop.export import export_generator

        export_generator(build(args.write_export[0]), args.write_export[1], half=True)
        print(f"wrote {args.write_export[0]} with random weights to {args.write_export[1]}")
        return
    from safetensors.torch import load_file

    configs, paths = args.configs.split(","), args.paths.split(",")
    scratch = tempfile.mkdtemp(prefix="stylegan3_speed-")
    for name in configs:
        if name not in CONFIGS:
            raise SystemExit(f"stylegan3_speed: unknown config {name!r}; choose from {', '.join(CONFIGS)}")
        seconds, images = {}, {}
        for path in paths:
            image_file = os.path.join(scratch, f"{name}-{path}.safetensors")
            cmd = [sys.executable, __file__, "--one", f"{name}:{path}:{image_file}", "--repeats", str(args.repeats),
                   "--warmup", str(args.warmup)] + (["--layers"] if args.layers else [])
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"stylegan3_speed: {name} {path} failed:\n{done.stderr[-2000:]}")
            record = json.loads(done.stdout.strip().splitlines()[-1])
            seconds[path] = record["seconds_per_face"]
            images[path] = load_file(image_file)["image"]
            if "exact" in seconds and path != "exact":
                record["speedup_vs_exact"] = round(seconds["exact"] / record["seconds_per_face"], 1)
                record["max_abs_diff_vs_exact"] = float((images[path] - images["exact"]).abs().max())
            print(f"{name:>8} {path:>5}: {record['params_M']:5.1f} M parameters, {record['seconds_per_face']:7.2f} s "
                  f"per face (runs {record['seconds_all']}), peak RSS {record['peak_rss_GB']:.2f} GB, "
                  f"{record['threads']} threads" + (f", {record['speedup_vs_exact']}x" if "speedup_vs_exact" in record
                                                     else "") + (f", max |{path} - exact| {record['max_abs_diff_vs_exact']:.1e}"
                                                                 if "max_abs_diff_vs_exact" in record else ""), flush=True)
            for row in record["layers"]:
                print(f"    {row['layer']:>14} {row['ms']:9.1f} ms {row['added_MB']:6d} MB  out {row['out']}")
            if args.json:
                lib.record(args.json, {"bench": "stylegan3_speed", **record})


if __name__ == "__main__":
    main()
