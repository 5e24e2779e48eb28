"""Frames per second of the browser page (web/) while a slider is dragged, in a real Chromium.

    bash web/build.sh && python bench/web_fps.py [--seconds 10] [--repeats 3] [--json FILE.jsonl]
        [--screenshot assets/web_page.png]

Serves web/dist on 127.0.0.1, opens it in Debian's Chromium (headless, Playwright), waits for the first face,
then sends one 'input' event per animation frame to the blend slider for ``--seconds`` and counts the faces
the page drew (it draws on every event, one inference at a time, so the count is what a user dragging sees).
"""
from __future__ import annotations

import argparse
import statistics
import sys

import lib  # first: this checkout's facegan

sys.path.insert(0, str(lib.ROOT / "tests"))
from support.webpage import REPO, drag_and_count, screenshot, static_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="append the figures here (with lib.record's provenance)")
    parser.add_argument("--screenshot", help="also save the page (seed 7, smile +2) as this PNG (docs/browser.md's)")
    args = parser.parse_args()
    runs = []
    with static_server(REPO / "web" / "dist") as url:
        for _ in range(args.repeats):
            result = drag_and_count(url, args.seconds)
            if result["error"]:
                raise SystemExit(f"the page failed: {result['error']}")
            runs.append({k: result[k] for k in ("frames", "events", "seconds", "fps", "lastMs")})
            print(f"{result['fps']:.1f} frames per second ({result['frames']} faces in {result['seconds']:.1f} s, "
                  f"{result['events']} slider events; last face {result['lastMs']:.0f} ms)")
        if args.screenshot:
            screenshot(url, args.screenshot)
    fps = [r["fps"] for r in runs]
    print(f"median {statistics.median(fps):.1f} frames per second over {len(runs)} runs (min {min(fps):.1f}, "
          f"max {max(fps):.1f})")
    if args.json:
        lib.record(args.json, {"bench": "web_fps", "runs": runs, "median_fps": statistics.median(fps)})


if __name__ == "__main__":
    main()
