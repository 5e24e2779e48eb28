"""facegan export --onnx: every generator architecture as an ONNX graph whose images onnxruntime computes
within 1e-4 of facegan's (fp32; images span about [-1, 1]); style generators take the truncation as an input."""
import sys

import numpy as np
import onnxruntime
import pytest
import torch

from facegan.cli import main
from facegan.errors import FaceganError
from facegan.interop.onnx import TOLERANCE, export_onnx
from facegan.models.contract import is_style
from facegan.models.dcgan import Generator as DCGAN
from facegan.models.mlp import Generator as MLP
from facegan.models.progan import Generator as ProGAN
from facegan.models.progan.config import ProGANConfig
from facegan.models.stylegan2 import Generator as StyleGAN2
from facegan.models.stylegan3.networks import Generator as StyleGAN3


def tiny(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return {"dcgan": lambda: DCGAN(latent_dim=8, width=0.0625, resolution=16),
            "stylegan2": lambda: StyleGAN2(8, 16, 16, 3, channel_base=128, channel_max=16, mapping_layers=2,
                                           conv_clamp=256),
            "adain": lambda: StyleGAN2(8, 16, 16, 3, channel_base=128, channel_max=16, mapping_layers=2,
                                       style_block="adain"),
            "mlp": lambda: MLP(latent_dim=8, hidden=(16, 32), channels=1, resolution=28),
            "progan": lambda: ProGAN(latent_dim=8, resolution=16, channels=3, cfg=ProGANConfig(fmap_base=64, fmap_max=16)),
            "stylegan3": lambda: StyleGAN3(8, 8, 16, 3, channel_base=256, channel_max=16, num_layers=4)}[arch]().eval()


@pytest.mark.parametrize("arch", ["dcgan", "stylegan2", "adain", "mlp", "progan", "stylegan3"])
def test_every_architecture_exports_and_matches_onnxruntime(arch, tmp_path):
    G = tiny(arch)
    with torch.no_grad():  # non-trivial biases and w_avg (so truncation matters), and a constant input that
        for name, t in G.named_parameters():  # is not all ones: AdaIN's instance norm of a flat map is 0 / 0
            if name.endswith("bias"):
                t.add_(0.1 * torch.randn(t.shape))
            elif name.endswith("const"):
                t.normal_()
        if is_style(G):
            G.mapping.w_avg.normal_()
    out, difference, dynamic = export_onnx(G, tmp_path / "g.onnx")
    assert difference <= TOLERANCE and dynamic == (arch != "stylegan3")
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    z = torch.randn(1 if arch == "stylegan3" else 2, G.latent_dim, generator=torch.Generator().manual_seed(5))
    if is_style(G):
        assert names == ["z", "psi"]
        a = session.run(None, {"z": z.numpy(), "psi": np.array([1.0], np.float32)})[0]
        b = session.run(None, {"z": z.numpy(), "psi": np.array([0.5], np.float32)})[0]
        with torch.no_grad():
            want = G(z, truncation_psi=0.5, noise_mode="const") if arch != "stylegan3" else G(z, truncation_psi=0.5)
        assert np.abs(b - want.numpy()).max() <= TOLERANCE and np.abs(a - b).max() > 1e-3  # psi is live
    else:
        assert names == ["z"]
        with torch.no_grad():
            assert np.abs(session.run(None, {"z": z.numpy()})[0] - G(z).numpy()).max() <= TOLERANCE


def test_the_command_exports_the_shipped_default_and_refuses_bad_names(tmp_path, capsys):
    assert main(["export", "--onnx", str(tmp_path / "faces.onnx")]) == 0
    out = capsys.readouterr().out
    assert "z (N, 256), psi (1,) -> images (N, 3, 64, 64)" in out and "onnxruntime matches facegan" in out
    assert main(["export", "--onnx", str(tmp_path / "faces.bin")]) == 2
    assert "names an .onnx file" in capsys.readouterr().err


def test_without_onnxruntime_the_export_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    with pytest.raises(FaceganError, match="pip install onnx onnxscript onnxruntime"):
        export_onnx(tiny("dcgan"), tmp_path / "g.onnx")
    assert not (tmp_path / "g.onnx").exists()
