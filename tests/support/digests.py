"""Digests of what facegan produces, to prove that a change of layout changed no behaviour.

Each entry runs a real command tiny on CPU (through ``facegan.cli.main``, the path users take) and
reduces what it wrote to a SHA-256 of the exact bytes of its tensors or pixels, plus a small portable
summary (a few floats) for machines whose kernels differ::

    python tests/support/digests.py            # print today's digests as JSON
    python tests/support/digests.py --write    # store them in tests/fixtures/digests.json

``tests/test_behaviour_digests.py`` recomputes them and compares: bit for bit on the machine that
wrote the file (same torch and CPU capability), within a stated tolerance elsewhere.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "digests.json"
SHIPPED = ROOT / "models" / "celeba64.safetensors"
TINY_DATA = ["--synthetic-count", "128", "--device", "cpu", "--no-progress", "--minutes", "0", "--log-every", "2",
             "--grid-size", "4"]


KERNEL_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "avx_vnni")


def machine() -> dict:
    """What decides whether float results can be expected bit for bit: torch's build and ATen's vector
    level, and the CPU features oneDNN picks its kernels by (two "AVX512" hosts, one with AMX, train the
    same bf16 step to different last bits)."""
    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "machine": platform.machine(), **cpu_kind()}


def cpu_kind() -> dict:
    """The CPU as oneDNN sees it (Linux; elsewhere nothing): model number, the KERNEL_FLAGS it has, and its
    cache sizes (oneDNN blocks its loops by them, which orders the sums differently)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    first = dict(line.split(":", 1) for line in text.split("\n\n")[0].splitlines() if ":" in line)
    first = {k.strip(): v.strip() for k, v in first.items()}
    caches = sorted(p.read_text().strip() for p in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"))
    return {"cpu_model": f"{first.get('cpu family', '?')}/{first.get('model', '?')}",
            "cpu_flags": [flag for flag in KERNEL_FLAGS if flag in first.get("flags", "").split()], "caches": caches}


def tensors_digest(tensors: dict[str, torch.Tensor]) -> dict:
    h, total, absolute = hashlib.sha256(), 0.0, 0.0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous().reshape(-1)
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        if t.is_floating_point():
            total += float(t.double().sum())
            absolute += float(t.double().abs().sum())
    return {"sha256": h.hexdigest(), "summary": [total, absolute]}


def image_digest(path: Path) -> dict:
    pixels = np.asarray(Image.open(path).convert("RGB"))
    return {"sha256": hashlib.sha256(pixels.tobytes()).hexdigest(),
            "summary": [float(pixels.mean()), float(pixels.std())], "shape": list(pixels.shape)}


def checkpoint_digest(run_dir: Path) -> dict:
    state = torch.load(sorted((run_dir / "checkpoints").glob("state-*.pt"))[-1], weights_only=True)
    return tensors_digest({f"{part}.{k}": v for part in ("generator", "discriminator")
                           for k, v in state[part].items()})


def cli(*args: str) -> None:
    from facegan.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        code = main([str(a) for a in args])
    if code != 0:
        raise RuntimeError(f"facegan {' '.join(map(str, args))} exited {code}: {out.getvalue()}{err.getvalue()}")


def train(work: Path, name: str, *args: str) -> Path:
    cli("train", "--runs-dir", work, "--name", name, *args, *TINY_DATA)
    return next(work.glob(f"*-{name}"))


def nvidia_pickle(path: Path) -> Path:
    """A StyleGAN2-ADA network pickle written from a seeded facegan StyleGAN2 (tests/official_format.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from official_format import dumps, official_snapshot, randomised

    from facegan.models.stylegan2 import Generator

    torch.manual_seed(0)
    G = randomised(Generator(latent_dim=16, w_dim=24, resolution=32, channels=3, channel_base=512, channel_max=32,
                             mapping_layers=2, conv_clamp=256))
    path.write_bytes(dumps(official_snapshot(G)))
    return path


def graders_output() -> dict:
    """``python tests.py``: the graders' checks on facegan's own dataset and models (their printed lines)."""
    done = subprocess.run([sys.executable, "tests.py"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise RuntimeError(f"python tests.py exited {done.returncode}: {done.stdout}{done.stderr}")
    return {"sha256": hashlib.sha256(done.stdout.encode()).hexdigest(), "summary": [float(len(done.stdout))]}


def compute() -> dict:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        quick = train(work, "quick", "--preset", "quick", "--data", "synthetic", "--epochs", "2", "--batch-size", "32")
        results["train quick: export"] = tensors_digest(load_file(quick / "generator.safetensors"))
        results["train quick: checkpoint G+D"] = checkpoint_digest(quick)
        style = train(work, "style", "--preset", "stylegan-cpu", "--data", "synthetic", "--epochs", "1",
                      "--batch-size", "16", "--r1-every", "2", "--resolution", "32")
        results["train stylegan-cpu: export"] = tensors_digest(load_file(style / "generator.safetensors"))
        results["train stylegan-cpu: checkpoint G+D"] = checkpoint_digest(style)
        mlp = train(work, "mlp", "--preset", "digits", "--data", "synthetic-digits", "--epochs", "1",
                    "--synthetic-count", "512", "--batch-size", "64")
        results["train digits (mlp): export"] = tensors_digest(load_file(mlp / "generator.safetensors"))
        results["train digits (mlp): checkpoint G+D"] = checkpoint_digest(mlp)
        images = {
            "sample celeba64": ("sample", "--generator", SHIPPED, "--n", "16", "--seed", "3"),
            "interpolate celeba64": ("interpolate", "--generator", SHIPPED, "--steps", "6"),
            "edit celeba64 age+2 smile-1": ("edit", "--generator", SHIPPED, "--seed", "0,1", "--edit",
                                            "age=+2,smile=-1"),
            "edit celeba64 strip glasses": ("edit", "--generator", SHIPPED, "--seed", "2", "--strip", "glasses",
                                            "--steps", "5"),
            "mix stylegan-cpu run": ("mix", "--generator", style, "--rows", "1,2", "--cols", "3,4", "--styles", "coarse,middle,6-7"),
            "interpolate stylegan-cpu run in w": ("interpolate", "--generator", style, "--space", "w", "--steps", "4"),
        }
        for name, args in images.items():
            out = work / f"{len(results)}.png"
            cli(*args, "--device", "cpu", "--out", out)
            results[name] = image_digest(out)
        imported = work / "imported.safetensors"
        cli("import", "stylegan2", nvidia_pickle(work / "network-snapshot.pkl"), "--out", imported)
        results["import stylegan2 pickle: export"] = tensors_digest(load_file(imported))
        cli("sample", "--generator", imported, "--n", "8", "--truncation", "0.7", "--device", "cpu",
            "--out", work / "imported.png")
        results["import stylegan2 pickle: sample psi 0.7"] = image_digest(work / "imported.png")
    results["python tests.py"] = graders_output()
    return results


def main() -> None:
    sys.path.insert(0, str(ROOT))
    record = {"machine": machine(), "digests": compute()}
    text = json.dumps(record, indent=1)
    if "--write" in sys.argv:
        FIXTURE.write_text(text + "\n")
        print(f"wrote {FIXTURE}")
    else:
        print(text)


if __name__ == "__main__":
    main()
