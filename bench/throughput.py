"""Training throughput: facegan's trainer step vs the classic course-project loop, side by side.

    python bench/throughput.py [--device auto] [--width 1.0] [--batch 128] [--windows 5] [--steps 5] [--warmup 3]
                               [--images DIR] [--precision auto|fp32|bf16|fp16]
                               [--channels-last/--no-channels-last] [--compile] [--compile-mode MODE]
                               [--json FILE.jsonl]

One image = its share of one D step on real + fake and one G step. Both loops train the paper DCGAN
at the same width and batch in this one process, in alternating timed windows after a warm-up; the
table shows the median img/s of each and the ratio facegan / reference.

- facegan: the trainer's own steps (bench/lib.py's TrainerSteps over facegan.training.steps.training_steps,
  the iterator `facegan train` drives): the dataset decoded once into a uint8 tensor on the device;
  batches drawn by index from each epoch's permutation, scaled (and flipped) on the device; d_step /
  g_step and the fused Adam (BCE with logits), channels_last and the chosen precision (auto: what
  `facegan train` picks here).
- reference: torchvision ImageFolder + DataLoader decoding the JPEGs every epoch (ToTensor,
  Normalize), Sigmoid + BCELoss, fp32, NCHW, no compile, as course projects write it.

On CUDA it also runs facegan's step under torch.cuda.set_sync_debug_mode("error") and says whether
the step ever waits for the GPU; facegan's cuDNN autotuning (a process-wide switch) then applies to
both loops, as pytorch/examples' dcgan sets it too. The JPEGs come from --images (a folder of 64x64
faces, e.g. the shared CelebA sample), else 2,048 synthetic faces are written as JPEGs (quality 95)
into bench/_work/jpegs once.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import lib  # first: this checkout's facegan
import torch
from torch import nn

from facegan.config import config_from_flat
from facegan.data.images import load_folder
from facegan.models.dcgan import Discriminator, Generator
from facegan.training.amp import native_bf16
from facegan.training.device import describe, pick_device


def jpeg_folder(images: str | None) -> Path:
    if images:
        return Path(images)
    folder = lib.ROOT / "bench" / "_work" / "jpegs" / "faces"
    if not folder.is_dir() or len(list(folder.glob("*.jpg"))) < 2048:
        from PIL import Image

        from facegan.data.synthetic_faces import render_faces

        folder.mkdir(parents=True, exist_ok=True)
        faces, _ = render_faces(2048, seed=7)
        for i, face in enumerate(faces):
            Image.fromarray(face.permute(1, 2, 0).numpy()).save(folder / f"{i:05d}.jpg", quality=95)
    return folder


def facegan_loop(images: torch.Tensor, device: torch.device, width: float, batch: int, precision: str = "auto",
                 channels_last: bool = True, compile: bool = False, compile_mode: str = "default") -> lib.TrainerSteps:
    """facegan's training steps exactly as `facegan train` takes them (the paper DCGAN at ``width``).
    images: uint8 (N, 3, 64, 64), decoded once."""
    cfg = config_from_flat({"width": width, "batch_size": batch, "precision": precision, "channels_last": channels_last,
                            "device": str(device), "compile": compile, "compile_mode": compile_mode})
    return lib.TrainerSteps(cfg, images, device)


class ReferenceLoop:
    def __init__(self, folder: Path, device: torch.device, width: float, batch: int):
        from torchvision import datasets, transforms

        transform = transforms.Compose([transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor(),
                                        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
        root = lib.ROOT / "bench" / "_work" / "imagefolder_root"  # ImageFolder wants root/<class>/images: link the folder in
        root.mkdir(parents=True, exist_ok=True)
        link = root / "faces"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(folder.resolve(), target_is_directory=True)
        dataset = datasets.ImageFolder(str(root), transform=transform)
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True,
                                                  num_workers=0)
        self.batches = iter(self.loader)
        self.device, self.batch = device, batch
        torch.manual_seed(0)
        self.G = Generator(256, width).to(device)
        self.D = nn.Sequential(Discriminator(width), nn.Sigmoid()).to(device)
        self.criterion = nn.BCELoss()
        self.opt_g = torch.optim.Adam(self.G.parameters(), 2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), 1e-4, betas=(0.5, 0.999))

    def step(self) -> None:
        try:
            real, _ = next(self.batches)
        except StopIteration:  # a new epoch: the DataLoader decodes every JPEG again
            self.batches = iter(self.loader)
            real, _ = next(self.batches)
        real = real.to(self.device)
        self.D.zero_grad()
        out = self.D(real).view(-1)
        err_real = self.criterion(out, torch.ones_like(out))
        err_real.backward()
        fake = self.G(torch.randn(self.batch, 256, 1, 1, device=self.device))
        out = self.D(fake.detach()).view(-1)
        err_fake = self.criterion(out, torch.zeros_like(out))
        err_fake.backward()
        self.opt_d.step()
        self.G.zero_grad()
        out = self.D(fake).view(-1)
        err_g = self.criterion(out, torch.ones_like(out))
        err_g.backward()
        self.opt_g.step()
        _ = (err_real + err_fake).item(), err_g.item()  # the classic loop reads its losses every step


def host_syncs_in_step(loop: lib.TrainerSteps) -> str:
    """On CUDA, run facegan steps with torch's sync debug mode set to error: a step that waits for the
    GPU (a .item(), a data-dependent shape, a blocking copy) raises. Elsewhere there is nothing to check."""
    if loop.device.type != "cuda":
        return "host-device syncs: not checked (needs CUDA)"
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            loop.step()
        return "host-device syncs inside facegan's step: none (3 steps under sync debug mode 'error')"
    except RuntimeError as error:
        return f"host-device sync inside facegan's step: {error}"
    finally:
        torch.cuda.set_sync_debug_mode("default")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed window")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation happens here)")
    parser.add_argument("--images", help="folder of 64x64 JPEGs (default: synthetic faces written as JPEGs)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--compile-mode", default="default", choices=["default", "reduce-overhead", "max-autotune"])
    parser.add_argument("--json", help="append the result here (one JSON line, with lib.record's provenance)")
    args = parser.parse_args()

    device = pick_device(args.device)
    folder = jpeg_folder(args.images)
    images = load_folder(folder, progress=False).images  # decoded once, as facegan's cache does
    loops = {"facegan": facegan_loop(images, device, args.width, args.batch, args.precision, args.channels_last,
                                     args.compile, args.compile_mode),
             "reference": ReferenceLoop(folder, device, args.width, args.batch)}
    for loop in loops.values():  # warm-up (and compilation, with --compile)
        lib.images_per_second(loop.step, args.warmup, args.batch, device)
    sync_report = host_syncs_in_step(loops["facegan"])
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.windows):
        for name, loop in loops.items():
            rates[name].append(lib.images_per_second(loop.step, args.steps, args.batch, device))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    isa = f"CPU {torch.backends.cpu.get_cpu_capability()}, native bf16 {native_bf16(torch.device('cpu'))}"
    print(f"torch {torch.__version__} | {describe(device)} | {isa} | {torch.get_num_threads()} threads "
          f"| width {args.width} | batch {args.batch} | facegan: {loops['facegan'].precision}"
          f"{', channels_last' if args.channels_last else ''}"
          f"{f', compile {args.compile_mode}' if args.compile else ''}")
    print(f"{len(list(folder.glob('*.jpg'))):,} JPEGs from {folder}; {args.windows} alternating windows of "
          f"{args.steps} steps after {args.warmup} warm-up steps")
    print("| loop | median img/s | windows |")
    print("|---|---|---|")
    for name in loops:
        print(f"| {name} | {medians[name]:.1f} | {', '.join(f'{r:.0f}' for r in rates[name])} |")
    print(f"ratio facegan / reference: {medians['facegan'] / medians['reference']:.2f}x")
    print(sync_report)
    if args.json:
        lib.record(args.json, {"bench": "throughput", "device": describe(device), "width": args.width,
                               "batch": args.batch, "precision": loops["facegan"].precision,
                               "channels_last": args.channels_last, "compile": args.compile and args.compile_mode,
                               "jpegs": str(folder), "windows": args.windows, "steps": args.steps,
                               "warmup": args.warmup, "img_per_s": rates, "median_img_per_s": medians,
                               "ratio": medians["facegan"] / medians["reference"], "host_syncs": sync_report})


if __name__ == "__main__":
    main()
