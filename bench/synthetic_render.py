"""How fast the built-in synthetic faces render (target: 10,000 in under a minute on 2 cores).

    python bench/synthetic_render.py [--n 10000]
"""
import argparse
import time

from facegan.data.synthetic_faces import render_faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    start = time.perf_counter()
    render_faces(args.n, seed=0)
    seconds = time.perf_counter() - start
    print(f"rendered {args.n:,} faces in {seconds:.1f} s ({args.n / seconds:.0f} faces/s)")


if __name__ == "__main__":
    main()
