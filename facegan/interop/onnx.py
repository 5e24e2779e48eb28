"""Generators as ONNX graphs: ``facegan export --onnx OUT.onnx``, checked against onnxruntime.

Every generator architecture exports: the graph takes ``z`` (N, latent_dim) with a free batch size and
returns ``images`` (N, C, R, R) in about [-1, 1]; style generators also take ``psi`` (1,), the truncation
(1 = none), so one file serves every truncation. Their per-pixel noise is the stored constant noise (what
``noise_mode="const"`` and eval mode draw), baked into the graph, and the modulated convolutions run in
the shared-weight form (input scaled by the styles, output by the demodulation coefficients): the same
math as the grouped form, whose kernel shape depends on the batch and which ONNX cannot express.

StyleGAN3 exports with a batch of 1 (torch.export cannot give its input's affine grid a free batch).
The export goes through torch.export (``torch.onnx.export(dynamo=True)``; the older TorchScript exporter
cannot trace the resampling filters' dynamic shapes), and the result is run by onnxruntime on fresh z
before the file is kept: the largest difference from facegan's own images is reported, and a graph that
differs by more than :data:`TOLERANCE` is refused.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import torch

from facegan.errors import FaceganError, first_line
from facegan.fileio import atomic_path
from facegan.latent import sample_latents, ws_from_codes
from facegan.models.contract import GeneratorBase, has_fast_path, is_style

TOLERANCE = 1e-4  # fp32; images span about [-1, 1]
OPSET = 18


class StyleGraph(torch.nn.Module):
    """A style generator as the graph computes it: z (N, latent_dim), psi (1,) -> images."""

    def __init__(self, generator: GeneratorBase):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        G = self.generator
        ws = G.mapping(z, update_w_avg=False)  # (N, num_ws, w_dim)
        w_avg = G.mapping.w_avg
        ws = w_avg + psi * (ws - w_avg)  # truncation as an input: w_avg.lerp(ws, psi)
        return G.synthesis(ws, **synthesis_options(G))


def synthesis_options(generator: GeneratorBase) -> dict:
    """Constant noise, and StyleGAN2's modulation in its shared-weight form (a batch-independent kernel)."""
    arch = generator.arch()
    if arch.get("arch") == "stylegan2" and arch.get("style_block", "modulated") == "modulated":
        return {"noise_mode": "const", "fused_modconv": False}
    return {"noise_mode": "const"}


def graph_for(generator: GeneratorBase) -> tuple[torch.nn.Module, tuple[str, ...]]:
    """(the module to export, its input names)."""
    if is_style(generator):
        return StyleGraph(generator).eval(), ("z", "psi")
    return generator.eval(), ("z",)


def _inputs(generator: GeneratorBase, names: tuple[str, ...], n: int, seed: int, psi: float) -> tuple:
    z = sample_latents(n, generator.latent_dim, seed)
    return (z, torch.tensor([psi])) if len(names) == 2 else (z,)


@torch.no_grad()
def check_onnx(path: Path, generator: GeneratorBase, names: tuple[str, ...], batches: tuple[int, ...] = (1, 3)) -> float:
    """Largest |onnxruntime - torch| over fresh z (batches of 1 and 3, psi 0.7 and 1 for style generators)."""
    module, _ = graph_for(generator)
    examples = [_inputs(generator, names, n, seed, psi) for n, seed, psi in zip(batches, (11, 12), (0.7, 1.0))]
    return _max_difference(path, module, names, examples)


def _max_difference(path: Path, module: torch.nn.Module, names: tuple[str, ...], examples: list[tuple]) -> float:
    """Largest |onnxruntime - torch| of the graph at ``path`` against ``module`` over ``examples`` (tuples of
    the inputs ``names``); a NaN is the worst of all."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for inputs in examples:
        got = session.run(None, {name: value.numpy() for name, value in zip(names, inputs)})[0]
        difference = float((torch.from_numpy(got).double() - module(*inputs).double()).abs().max())
        worst = difference if not difference <= worst else worst
    return worst


def export_onnx(generator: GeneratorBase, out: str | Path) -> tuple[Path, float, bool]:
    """Write ``generator`` as ONNX to ``out`` (atomically), checked by onnxruntime; returns (out, the
    largest difference from facegan's images, whether the batch size is free). A graph torch.export cannot
    make with a free batch (StyleGAN3's input: its affine grid) is exported for batches of 1."""
    try:
        import onnx  # noqa: F401 -- torch.onnx and the check need these three
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise FaceganError(f"ONNX export needs {e.name}: pip install onnx onnxscript onnxruntime") from None
    out = Path(out)
    generator = generator.cpu().eval()
    # a StyleGAN3 draws with its fast path by default, whose bands are sized from the batch when traced: the
    # graph records the reference ops instead (shapes free of the batch; the browser runs them as exported)
    fast = has_fast_path(generator) and not generator.exact
    if fast:
        generator.exact = True
    try:
        return _export_generator(generator, out)
    finally:
        if fast:
            generator.exact = False


def _export_generator(generator: GeneratorBase, out: Path) -> tuple[Path, float, bool]:
    module, names = graph_for(generator)
    with atomic_path(out) as tmp:
        dynamic = True
        try:
            program = _export(module, _inputs(generator, names, 2, 0, 0.7), names, dynamic=True)
        except Exception:  # noqa: BLE001 -- retried with a fixed batch; a second failure is reported
            dynamic = False
            try:
                program = _export(module, _inputs(generator, names, 1, 0, 0.7), names, dynamic=False)
            except Exception as e:  # torch.export / onnxscript failures: many types, one line
                raise FaceganError(f"this {generator.arch()['arch']} generator did not export to ONNX "
                                   f"({type(e).__name__}: {first_line(e)})") from None
        program.save(str(tmp))
        try:
            difference = check_onnx(tmp, generator, names, (1, 3) if dynamic else (1, 1))
        except Exception as e:  # onnxruntime refusing the graph (a batch fixed by mistake, a missing kernel)
            raise FaceganError(f"onnxruntime could not run the exported graph ({type(e).__name__}: "
                               f"{first_line(e)}); not written") from None
        if not difference <= TOLERANCE:
            raise FaceganError(f"the ONNX graph's images differ from facegan's by {difference:.2g} (more than "
                               f"{TOLERANCE:g}); not written")
    return out, difference, dynamic


def _export(module: torch.nn.Module, example: tuple, names: tuple[str, ...], dynamic: bool, output: str = "images"):
    """torch.export -> ONNX program; ``dynamic``: the first input's batch size is free (the others are fixed)."""
    shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", min=1, max=4096)
        shapes = ({0: batch},) + (None,) * (len(names) - 1)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        # optimize=False: onnxscript's graph optimiser turned the AdaIN generator's images into NaN (onnxruntime
        # optimises the graph itself when it loads it)
        return torch.onnx.export(module, example, input_names=list(names), output_names=[output],
                                 dynamic_shapes=shapes, dynamo=True, opset_version=OPSET, optimize=False)


# ----------------------------------------------------------------------------- the browser page's graphs
class MappingGraph(torch.nn.Module):
    """z (N, latent_dim) -> w (N, w_dim): a style generator's mapping, for the page (truncation, blends and
    edits are done on w in the page itself)."""

    def __init__(self, generator: GeneratorBase):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator.mapping(z, update_w_avg=False)[:, 0]


class SynthesisGraph(torch.nn.Module):
    """w (N, w_dim) -> images: the same w for every layer, constant noise, shared-weight modulation."""

    def __init__(self, generator: GeneratorBase):
        super().__init__()
        self.generator = generator

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        G = self.generator
        return G.synthesis(ws_from_codes(G, w), **synthesis_options(G))  # one w for every layer


def export_page(generator: GeneratorBase, edits: dict[str, torch.Tensor], folder: str | Path) -> dict:
    """What the browser page (web/) loads, into ``folder``: ``synthesis.onnx`` (codes -> images; the codes are
    w for a style generator, z otherwise), ``mapping.onnx`` (z -> w, style generators only) and ``page.json``
    (the code sizes, w_avg, and ``edits``: per slider the code offset of one unit, editing.directions'
    ``edit_vectors``). Each graph is checked against facegan's own computation with onnxruntime. Returns
    page.json's content."""
    import json

    from facegan.fileio import write_text_atomic

    folder = Path(folder)
    generator = generator.cpu().eval()
    style = is_style(generator)
    graphs = {"synthesis.onnx": (SynthesisGraph(generator) if style else generator.eval(),
                                 generator.w_dim if style else generator.latent_dim)}
    if style:
        graphs["mapping.onnx"] = (MappingGraph(generator).eval(), generator.latent_dim)
    worst = 0.0
    for name, (module, width) in graphs.items():
        worst = max(worst, _export_checked(module, width, folder / name))
    page = {"space": "w" if style else "z", "latent_dim": generator.latent_dim,
            "code_dim": generator.w_dim if style else generator.latent_dim, "resolution": generator.resolution,
            "w_avg": generator.mapping.w_avg.tolist() if style else None,
            "edits": {name: vector.tolist() for name, vector in edits.items()},
            "onnx_difference": worst}
    write_text_atomic(folder / "page.json", json.dumps(page) + "\n")
    return page


@torch.no_grad()
def _export_checked(module: torch.nn.Module, width: int, out: Path) -> float:
    """Export ``module`` (one input (N, width) named 'x') with a free batch; its onnxruntime difference."""
    with atomic_path(out) as tmp:
        _export(module, (torch.randn(2, width),), ("x",), dynamic=True, output="y").save(str(tmp))
        x = torch.randn(3, width, generator=torch.Generator().manual_seed(13))
        difference = _max_difference(tmp, module, ("x",), [(x,)])
        if not difference <= TOLERANCE:
            raise FaceganError(f"{out.name}: onnxruntime differs from facegan by {difference:.2g}; not written")
    return difference
