"""How fast the built-in synthetic faces render (target: 10,000 in under a minute on 2 cores).

    python bench/synthetic_render.py [--n 10000] [--json FILE.jsonl]
"""
from __future__ import annotations

import argparse

import lib  # first: this checkout's facegan

from facegan.data.synthetic_faces import render_faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--json", help="append the result here (one JSON line, with lib.record's provenance)")
    args = parser.parse_args()
    watch = lib.Stopwatch()
    render_faces(args.n, seed=0)
    seconds = watch.seconds()
    print(f"rendered {args.n:,} faces in {seconds:.1f} s ({args.n / seconds:.0f} faces/s)")
    if args.json:
        lib.record(args.json, {"bench": "synthetic_render", "faces": args.n, "seconds": round(seconds, 2),
                               "faces_per_s": round(args.n / seconds)})


if __name__ == "__main__":
    main()
