"""How long the app's pictures take, without Streamlit: p50 / p95 over repeated calls of the same
facegan.app.logic functions the page calls, with the shipped default model (or --model).

    python bench/app_latency.py [--model models/celeba64.safetensors] [--repeats 60] [--threads 1,2]
        [--cases edited,blend step] [--out FILE.jsonl]

Each case is what one interaction costs on the server: a 16-face grid (render + one PNG per face,
which the page shows and its download gives), one edited face (three attributes moved, keep gender
on, its PNG at the display size), one blend step, and the blend GIF. Each runs with 1 and with 2
torch threads, alternating call by call (the app uses 1: webapp.set_threads). Other processes share
the CPU here: read the figures as this machine at that moment, and compare cases measured side by side.
With an HD model (a 1024 px StyleGAN3 draws a face in seconds), ``--cases edited,blend step`` times what a
slider change costs and leaves out the 16-face grids.
"""
from __future__ import annotations

import argparse
import copy

import lib  # first: this checkout's facegan
import torch

from facegan.app import logic as webapp


def timed(fn, repeats: int, threads: list[int], warmup: int = 3) -> dict[int, dict[str, float]]:
    """p50 / p95 / min (ms) of ``fn`` for each torch thread count, the counts alternating call by call so
    that whatever else runs on the machine weighs on each alike."""
    for n in threads:
        torch.set_num_threads(n)
        for _ in range(warmup):
            fn()
    times = {n: [] for n in threads}
    for _ in range(repeats):
        for n in threads:
            torch.set_num_threads(n)
            times[n] += [1000 * t for t in lib.call_times(fn, 1, warmup=0)]
    stats = {}
    for n, values in times.items():
        q = lib.percentiles(values, digits=1)
        stats[n] = {"p50_ms": q["p50"], "p95_ms": q["p95"], "min_ms": q["min"], "repeats": repeats}
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(webapp.shipped_model(webapp.DEFAULT_MODEL)))
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--threads", default="1,2", help="torch intra-op thread counts to compare (the app uses 1)")
    parser.add_argument("--cases", help="comma-separated parts of case names to run (default: all)")
    parser.add_argument("--out", help="append the results as one JSON line (with lib.record's provenance)")
    args = parser.parse_args()
    threads = [int(n) for n in args.threads.split(",")]

    model = webapp.load_model(args.model)
    code = webapp.seed_codes(model, [3])
    edits = {"age": 1.5, "smile": 1.0, "glasses": 2.0}
    edits = {k: v for k, v in edits.items() if k in model.edit_names()}
    seeds = iter(range(10**6))  # a new grid every call, as "New faces" does
    # the generator as loaded before webapp made it channels-last (kept for comparison)
    contiguous = copy.deepcopy(model.generator).to(memory_format=torch.contiguous_format)

    cases = {
        "grid16 (render + 16 PNGs)": lambda: webapp.make_grid(model, next(seeds) * 16, 16),
        "grid16 render only": lambda: webapp.render(model.generator, webapp.seed_codes(model, range(16))),
        "grid16 render only, NCHW weights": lambda: webapp.render(contiguous, webapp.seed_codes(model, range(16))),
        "edited face (+ PNG)": lambda: webapp.png_bytes(
            webapp.edited_face(model, code, edits, keep_gender=True)[0], webapp.SHOW_SIDE),
        "blend step (+ PNG)": lambda: webapp.png_bytes(webapp.blend_face(model, 1, 2, 0.3)[0], webapp.SHOW_SIDE),
        "blend GIF (16 frames)": lambda: webapp.blend_gif(model, 1, 2),
    }
    if args.cases:
        wanted = args.cases.split(",")
        cases = {name: fn for name, fn in cases.items() if any(part in name for part in wanted)}
    results = {}
    for name, fn in cases.items():
        repeats = args.repeats if "GIF" not in name else max(5, args.repeats // 6)
        results[name] = timed(fn, repeats, threads)
        for n, r in results[name].items():
            print(f"{name:38s} {n} thread{'s' if n > 1 else ' '}  p50 {r['p50_ms']:7.1f} ms   "
                  f"p95 {r['p95_ms']:7.1f} ms   (min {r['min_ms']:.1f}, {repeats} calls)")
    if args.out:
        lib.record(args.out, {"model": args.model, "resolution": model.resolution, "repeats": args.repeats,
                              "threads": threads, "results": results}, jsonl=True)


if __name__ == "__main__":
    main()
