"""The first five minutes: the default `facegan train` as a new user runs it, on this machine as it is, on one
core, or beside a process that keeps one core busy; its plan against its wall time, and its faces scored.

    python bench/first_run.py --condition idle|one-core|busy [--json FILE.jsonl] [--grid assets/first_run_NAME.png]

It runs in a fresh temporary folder (no processed_celeba_small/: the built-in procedural faces, as on a fresh
clone) the README's command, `facegan train` (no flags; --no-progress only, for a plain log), then `facegan eval
--data HELDOUT --n 1000 --metrics swd`, where HELDOUT is 1,000 built-in faces the run never saw (faces 10,000 to
10,999 of the same procedural family; training uses faces 0 to 9,999). ``one-core``: `taskset -c 0`;
``busy``: a Python process spinning on the CPU beside it for the whole run (one core's worth of work, placed
by the scheduler). Recorded: the plan line's estimate and the time the done line reports (training with its
grids and checkpoints; the process's wall time adds start-up and, on a first run, rendering the faces), the steps, images, img/s, whether it was scaled down, SWD (x1e3; lower is better), and the final grid,
copied to --grid for a person to look at.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lib  # first: this checkout's facegan

HELDOUT = range(10_000, 11_000)


def write_heldout(folder: Path) -> None:
    import numpy as np

    from facegan.data.synthetic_faces import render_face

    folder.mkdir(parents=True)
    for i in HELDOUT:  # the training set's generator, face by face: render_faces(n)'s face i is this one
        render_face(np.random.default_rng([0, i]), 64)[0].save(folder / f"{i:05d}.png")


def seconds(text: str) -> float:
    """'5m01s' or '42.0s' -> seconds."""
    m = re.fullmatch(r"(?:(\d+)m)?([\d.]+)s", text)
    return int(m.group(1) or 0) * 60 + float(m.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--condition", choices=["idle", "one-core", "busy"], required=True)
    parser.add_argument("--json", help="append the result here (with lib.record's provenance)")
    parser.add_argument("--grid", help="copy the run's last sample grid here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="first_run-"))
    write_heldout(work / "heldout")
    env = {**os.environ, "PYTHONPATH": str(lib.ROOT)}  # this checkout's facegan, run from the temporary folder
    train = [sys.executable, "-m", "facegan", "train", "--no-progress"]
    if args.condition == "one-core":
        train = ["taskset", "-c", "0", *train]
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.condition == "busy" else None
    try:
        start = time.perf_counter()
        done = subprocess.run(train, cwd=work, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
    finally:
        if burner:
            burner.kill()
    out = done.stdout + done.stderr
    if done.returncode:
        raise SystemExit(f"first_run: facegan train failed:\n{out[-3000:]}")
    plan = next(line for line in out.splitlines() if line.startswith("plan: "))
    done_line = next(line for line in out.splitlines() if line.startswith("done: "))
    estimate = seconds(re.search(r"about (\S+) here", plan).group(1))
    took = seconds(re.search(r" in ([\dm.]+s)", done_line).group(1))  # training, its grids and checkpoints
    steps = int(re.search(r"([\d,]+) steps? in", done_line).group(1).replace(",", ""))
    run = work / "runs" / "001-quick"
    grid = sorted((run / "samples").glob("epoch_*.png"))[-1]
    scored = subprocess.run([sys.executable, "-m", "facegan", "eval", "--generator", str(run), "--data",
                             str(work / "heldout"), "--n", "1000", "--metrics", "swd"], cwd=work, capture_output=True,
                            text=True, check=True, env=env)
    swd = float(re.search(r"swd_avg\D+([\d.]+)", scored.stdout).group(1))
    result = {"bench": "first_run", "condition": args.condition, "plan_line": plan, "done_line": done_line,
              "estimated_s": estimate, "trained_s": took, "wall_s": round(wall, 1),
              "estimate_error": round(estimate / took - 1, 3), "steps": steps,
              "scaled_down": "scaled down:" in out, "swd_avg": swd, "grid": args.grid or str(grid)}
    print(json.dumps(result, indent=1))
    if args.grid:
        Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(grid, args.grid)
    if args.json:
        lib.record(args.json, result)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
