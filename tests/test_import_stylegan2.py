"""facegan import stylegan2 | rosinality, and facegan download stylegan2-*: NVIDIA's network pickles and
rosinality checkpoints become facegan exports without running anything from the file.

Fixtures are written here from facegan's own StyleGAN2 (tests/official_format.py: NVIDIA's pickle
layout, with stand-in modules while dumping). facegan's StyleGAN2 computes what NVIDIA's code computes
for the same weights (bitwise in eval mode: bench/stylegan2_parity.py, which also imports pickles
written by NVIDIA's real persistence code and a checkpoint of rosinality's real model.py), so "the
import reproduces the fixture's generator" is the parity with the official math.
"""
import argparse
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import test_download
import torch
from official_format import (EasyDict, Persistent, dumps, official_init_kwargs, official_snapshot, persistent,
                             randomised, rosinality_state)
from PIL import Image

from facegan.cli import main
from facegan.errors import FaceganError
from facegan.fileio import read_tagged_safetensors
from facegan.interop import download, pretrained
from facegan.interop.export import EXPORT_FORMAT, load_generator
from facegan.interop.nvidia_pickle import TORCH_LEGACY_MAGIC
from facegan.interop.nvidia_stylegan2 import official_generator
from facegan.interop.rosinality import rosinality_generator
from facegan.latent import generate
from facegan.models.dcgan import Generator as DCGAN
from facegan.models.stylegan2 import Generator, generator_from_meta


def fixture_generator(**overrides) -> Generator:
    """32x32, channels min(512 // side, 32): about 0.1 M parameters; random biases, noise strengths, w_avg."""
    torch.manual_seed(0)
    kwargs = dict(latent_dim=16, w_dim=24, resolution=32, channels=3, channel_base=512, channel_max=32,
                  mapping_layers=2, conv_clamp=256)
    return randomised(Generator(**{**kwargs, **overrides}))


@pytest.fixture(scope="module")
def G():
    return fixture_generator()


Z = torch.randn(5, 16, generator=torch.Generator().manual_seed(7))


def outputs(G, psi):
    with torch.no_grad():
        return G(Z, truncation_psi=psi, noise_mode="const")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def one_line_error(args, capsys) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


# ----------------------------------------------------------------------------- official pickles
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_official_pickle_imports_in_every_protocol_and_reproduces_the_generator(G, tmp_path, protocol):
    """Same weights, same images: psi 1 and 0.7, noise const (the official eval setting), and the same ws."""
    path = write(tmp_path / "network-snapshot.pkl", dumps(official_snapshot(G), protocol))
    imported, info = official_generator(path)
    for psi in (1, 0.7):
        assert torch.equal(outputs(imported, psi), outputs(G, psi))
    assert torch.equal(imported.mapping(Z), G.mapping(Z))
    assert not imported.training and info["init_kwargs"]["synthesis_kwargs"]["num_fp16_res"] == 4
    assert imported.arch() == G.arch()


def test_import_command_writes_an_export_that_sample_and_mix_take(G, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ffhq.pkl", dumps(official_snapshot(G)))
    assert main(["import", "stylegan2", "ffhq.pkl"]) == 0  # default --out: ffhq.safetensors, fp16
    printed = capsys.readouterr().out
    assert "32x32" in printed and "conv_clamp 256" in printed
    assert "facegan sample --generator ffhq.safetensors" in printed
    half = load_generator("ffhq.safetensors")
    weights, metadata = read_tagged_safetensors(Path("ffhq.safetensors"), EXPORT_FORMAT, "export")
    assert weights["synthesis.b32.conv1.weight"].dtype == torch.float16
    source = json.loads(metadata["source"])
    assert source["file"] == "ffhq.pkl" and len(source["sha256"]) == 64
    assert "NVIDIA Source Code License" in source["licence"]
    torch.testing.assert_close(outputs(half, 0.7), outputs(G, 0.7), atol=0.05, rtol=0)  # fp16-rounded weights

    assert main(["import", "stylegan2", "ffhq.pkl", "--out", "ffhq32.safetensors", "--fp32"]) == 0
    full = load_generator("ffhq32.safetensors")
    assert torch.equal(outputs(full, 0.7), outputs(G, 0.7)) and torch.equal(outputs(full, 1), outputs(G, 1))
    assert main(["sample", "--generator", "ffhq32.safetensors", "--truncation", "0.7", "--n", "4",
                 "--out", "f.png"]) == 0
    assert main(["interpolate", "--generator", "ffhq32.safetensors", "--space", "w", "--steps", "3"]) == 0
    assert main(["mix", "--generator", "ffhq32.safetensors", "--rows", "1", "--cols", "2,3", "--styles",
                 "coarse,middle", "--out", "m.png"]) == 0
    assert Image.open("f.png").size == (2 * 32 + 3 * 2, 2 * 32 + 3 * 2)  # a 2x2 grid of 32 px faces


def test_init_arguments_carry_into_the_export(tmp_path):
    """mapping lr multiplier, w_avg beta, conv_clamp None and stylegan3-style flat synthesis arguments."""
    G = fixture_generator(conv_clamp=None, mapping_lr_multiplier=0.05, w_avg_beta=0.99, mapping_layers=3)
    kwargs = EasyDict(z_dim=16, c_dim=0, w_dim=24, img_resolution=32, img_channels=3,
                      mapping_kwargs=EasyDict(num_layers=3, lr_multiplier=0.05, w_avg_beta=0.99),
                      channel_base=512, channel_max=32, num_fp16_res=0, conv_clamp=None,
                      fused_modconv_default="inference_only")
    path = write(tmp_path / "sg3-repo-stylegan2.pkl", dumps(official_snapshot(G, init_kwargs=kwargs)))
    imported, _ = official_generator(path)
    arch = imported.arch()
    assert arch["conv_clamp"] is None and arch["mapping_lr_multiplier"] == 0.05 and arch["w_avg_beta"] == 0.99
    assert torch.equal(outputs(imported, 0.7), outputs(G, 0.7))
    assert generator_from_meta(arch).arch() == arch


def test_exports_written_before_these_arguments_still_load():
    old = {"arch": "stylegan2", "latent_dim": 8, "w_dim": 12, "resolution": 8, "channels": 3, "channel_base": 64,
           "channel_max": 8, "mapping_layers": 2, "conv_clamp": 256, "style_mixing": 0.9}
    G = generator_from_meta(old)
    assert G.mapping_lr_multiplier == 0.01 and G.w_avg_beta == 0.995 and G.mapping.fc0.weight_gain == 0.01 / 8 ** 0.5


def stylegan3_record() -> Persistent:
    """The names of a StyleGAN3 generator: synthesis.input (Fourier features), L{i}_{size}_{channels}."""
    def module(name, params=None, children=None, **extra):
        return Persistent(name, {"_parameters": collections.OrderedDict(params or {}),
                                 "_buffers": collections.OrderedDict(),
                                 "_modules": collections.OrderedDict(children or {}), **extra})
    synthesis = module("SynthesisNetwork", children={
        "input": module("SynthesisInput", {"weight": torch.zeros(4, 4)}, size=np.array([36, 36])),
        "L0_36_512": module("SynthesisLayer", {"weight": torch.zeros(4, 4, 1, 1)})})
    kwargs = EasyDict(z_dim=16, c_dim=0, w_dim=24, img_resolution=32, img_channels=3, mapping_kwargs=EasyDict(),
                      conv_kernel=1, use_radial_filters=True, channel_base=512, channel_max=32)
    return module("Generator", children={"synthesis": synthesis, "mapping": module("MappingNetwork")},
                  _init_args=(), _init_kwargs=kwargs)


def other_files(folder: Path, G: Generator) -> dict:
    """File name -> (bytes, message): files of other kinds, each with the line that names it."""
    good = dumps(official_snapshot(G))
    buf = io.BytesIO()
    torch.save(DCGAN(latent_dim=8, width=0.125).state_dict(), buf)
    return {
        "stylegan3.pkl": (dumps(official_snapshot(G, g_ema=stylegan3_record())), "StyleGAN3-R generator"),
        "tf-era.pkl": (b"\x80\x02cdnnlib.tflib.network\nNetwork\nq\x00)\x81q\x01}q\x02b.",
                       "TensorFlow-era StyleGAN pickle"),
        "conditional.pkl": (dumps(official_snapshot(G, init_kwargs=official_init_kwargs(G, c_dim=10))),
                            "class-conditional generator (c_dim 10"),
        "resnet.pkl": (dumps(official_snapshot(G, init_kwargs=official_init_kwargs(
            G, **{"synthesis_kwargs.architecture": "resnet"}))), "architecture='resnet'"),
        "wider.pkl": (dumps(official_snapshot(G, init_kwargs=official_init_kwargs(
            G, **{"synthesis_kwargs.channel_max": 64}))), "has shape"),
        "dcgan.pt": (buf.getvalue(), "is a torch.save archive (zip), not an official network pickle"),
        "state-dict.pkl": (pickle.dumps(DCGAN(latent_dim=8, width=0.125).state_dict()), "but no 'G_ema' network"),
        "truncated.pkl": (good[:len(good) // 2], "truncated"),
        "trailing.pkl": (good + b"junk", "bytes after the end of its pickle"),
        "image.png": (b"\x89PNG\r\n\x1a\n" + bytes(64), "is not a pickle"),
        "empty.pkl": (b"", "is not a pickle"),
    }


@pytest.mark.parametrize("name", ["stylegan3.pkl", "tf-era.pkl", "conditional.pkl", "resnet.pkl", "wider.pkl",
                                  "dcgan.pt", "state-dict.pkl", "truncated.pkl", "trailing.pkl", "image.png",
                                  "empty.pkl"])
def test_files_of_other_kinds_get_one_line_naming_them(G, tmp_path, capsys, name):
    data, message = other_files(tmp_path, G)[name]
    write(tmp_path / name, data)
    err = one_line_error(["import", "stylegan2", tmp_path / name, "--out", tmp_path / "x.safetensors"], capsys)
    assert message in err, err
    assert not (tmp_path / "x.safetensors").exists()


# ----------------------------------------------------------------------------- hostile files
CODE = "open({marker!r}, 'w').close()"


class Call:
    """Pickles as a call of ``func(*args)``: what a hostile file can ask plain pickle to run."""

    def __init__(self, func, *args):
        self.func, self.args, self.state = func, args, None

    def with_state(self, state):
        """Also a BUILD opcode: the result's __setstate__(state) (a tensor's calls set_(*state))."""
        self.state = state
        return self

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


def legacy_storage_blob(declared: int, payload: bytes) -> bytes:
    """torch.storage._load_from_bytes' argument: a legacy torch.save of one float storage declaring
    ``declared`` elements, followed by ``payload`` as its data."""
    buf, sentinel = io.BytesIO(), object()
    for value in (TORCH_LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(value, buf, protocol=2)

    class Ids(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", declared, None) if obj is sentinel else None

    Ids(buf, protocol=2).dump(sentinel)
    pickle.dump(["0"], buf, protocol=2)
    return buf.getvalue() + struct.pack("<q", declared) + payload


def tensor_call(blob: bytes, size: tuple) -> Call:
    return Call(torch._utils._rebuild_tensor_v2, Call(torch.storage._load_from_bytes, blob), 0, size, (1,) * len(size),
                False, collections.OrderedDict())


def with_buffer(G: Generator, value) -> dict:
    """A snapshot whose G_ema has ``value`` in place of a buffer deep in synthesis (b32.conv1.noise_const)."""
    layer = persistent(G.synthesis.b32.conv1)
    layer.meta["state"]["_buffers"] = collections.OrderedDict(layer.meta["state"]["_buffers"], noise_const=value)
    block = persistent(G.synthesis.b32)
    block.meta["state"]["_modules"]["conv1"] = layer
    synthesis = persistent(G.synthesis)
    synthesis.meta["state"]["_modules"]["b32"] = block
    g_ema = persistent(G, official_init_kwargs(G))
    g_ema.meta["state"]["_modules"]["synthesis"] = synthesis
    return official_snapshot(G, g_ema=g_ema)


def hostile_files(folder: Path, G: Generator) -> dict:
    """name -> (path, marker the file tries to create, or None, message of the refusal)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}

    def add(name, obj_or_bytes, message, marker=None, protocol=4):
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else dumps(obj_or_bytes, protocol)
        files[name] = (write(folder / name, data), marker, message)

    def marker(name):
        return folder / f"{name}.ran"

    add("module-src-no-weights.pkl", dict(G_ema=Persistent("Generator", {}, CODE.format(marker=str(marker("src"))))),
        "has no readable init arguments", marker("src"))
    add("os-system.pkl", dict(G_ema=Call(os.system, f"touch {marker('system')}")), f"{os.system.__module__}.system",
        marker("system"))
    add("deep-exec.pkl", with_buffer(G, Call(exec, CODE.format(marker=str(marker("exec"))))), "builtins.exec",
        marker("exec"))
    add("object-array.pkl", with_buffer(G, np.array([Call(exec, CODE.format(marker=str(marker("npobj"))))],
                                                    dtype=object)), "dtype object", marker("npobj"))
    add("huge-storage.pkl", with_buffer(G, tensor_call(legacy_storage_blob(2 ** 40, bytes(16)), (4,))),
        "declares 4,398,046,511,104 bytes of tensor data but holds 16")
    add("huge-tensor.pkl", with_buffer(G, tensor_call(legacy_storage_blob(4, bytes(16)), (2 ** 40,))),
        "reaches element 1,099,511,627,775 of a storage of 4 elements")
    small = legacy_storage_blob(4, bytes(16))  # then BUILD: Tensor.__setstate__ -> set_, which would grow it to 4 GB
    add("tensor-setstate.pkl", with_buffer(G, tensor_call(small, (4,)).with_state(
        (Call(torch.storage._load_from_bytes, small), 0, (2 ** 30,), (1,)))), "sets a tensor's state by hand")
    add("memo-bomb.pkl", b"\x80\x02Nr" + struct.pack("<I", 2 ** 31) + b".", "memo index")
    add("persistent-id.pkl", b"\x80\x02X\x01\x00\x00\x00aQ.", "persistent ids")
    return files


HOSTILE = ["module-src-no-weights.pkl", "os-system.pkl", "deep-exec.pkl", "object-array.pkl", "huge-storage.pkl",
           "huge-tensor.pkl", "tensor-setstate.pkl", "memo-bomb.pkl", "persistent-id.pkl"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_with_one_line_and_nothing_runs(G, tmp_path, capsys, monkeypatch, name):
    path, marker, message = hostile_files(tmp_path, G)[name]
    real_load, decoded = torch.load, []
    monkeypatch.setattr(torch, "load", lambda f, *a, **k: decoded.append(f.getvalue()) or real_load(f, *a, **k))
    err = one_line_error(["import", "stylegan2", path, "--out", tmp_path / "x.safetensors"], capsys)
    assert message in err, err
    if marker is not None:
        assert not marker.exists(), f"{name} ran code"
    if name == "huge-storage.pkl":  # refused before torch.load (which allocates the declared 4 TB first) saw it
        assert decoded and legacy_storage_blob(2 ** 40, bytes(16)) not in decoded
    assert not (tmp_path / "x.safetensors").exists()


def test_code_in_module_src_is_never_run_even_when_the_weights_are_fine(G, tmp_path):
    marker = tmp_path / "src.ran"
    path = write(tmp_path / "src.pkl", dumps(official_snapshot(G, module_src=CODE.format(marker=str(marker)))))
    imported, _ = official_generator(path)
    assert torch.equal(outputs(imported, 0.7), outputs(G, 0.7)) and not marker.exists()


PLAIN_LOAD = """
import json, pickle, sys, types
persistence, util = types.ModuleType("torch_utils.persistence"), types.ModuleType("dnnlib.util")
def _reconstruct_persistent_obj(meta):  # what NVIDIA's does first: exec the pickled module source
    exec(meta["module_src"], {})
    return meta
persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
util.EasyDict = type("EasyDict", (dict,), {})
sys.modules.update({"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": persistence,
                    "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util})
for path in json.loads(sys.argv[1]):
    try:
        with open(path, "rb") as f:
            pickle.load(f)
    except Exception as e:
        print(path, type(e).__name__, e)
"""


def test_the_hostile_files_do_run_code_under_plain_pickle(G, tmp_path):
    """The control: the same files, opened the way NVIDIA's loader opens them (plain pickle, a persistence
    module that execs module_src), create their markers; so the refusals above are not vacuous."""
    files = {name: entry for name, entry in hostile_files(tmp_path, G).items() if entry[1] is not None}
    files["module-src-with-weights.pkl"] = (write(tmp_path / "src.pkl", dumps(official_snapshot(
        G, module_src=CODE.format(marker=str(tmp_path / "src-weights.ran"))))), tmp_path / "src-weights.ran", "")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", PLAIN_LOAD, json.dumps([str(p) for p, _, _ in files.values()])],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {name: marker.exists() for name, (_, marker, _) in files.items()} == {name: True for name in files}


# ----------------------------------------------------------------------------- rosinality checkpoints
def save_rosinality(path: Path, G: Generator, legacy: bool = False, **extra) -> Path:
    ckpt = {"g_ema": rosinality_state(G), "latent_avg": G.mapping.w_avg.clone(), **extra}
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
    return path


@pytest.mark.parametrize("legacy", [False, True])
def test_rosinality_checkpoints_round_trip(tmp_path, legacy):
    """A training checkpoint (g, d, optimisers, args as an argparse.Namespace) in both torch.save formats.
    rosinality's generator has no conv clamp: so has the fixture here."""
    G = fixture_generator(conv_clamp=None)
    path = save_rosinality(tmp_path / "550000.pt", G, legacy, g={"x": torch.zeros(2)}, d={},
                           g_optim={"state": {}, "param_groups": []}, ada_aug_p=0.2,
                           args=argparse.Namespace(size=32, latent=24, n_mlp=2, channel_multiplier=2, lr=0.002))
    assert main(["import", "rosinality", str(path), "--out", str(tmp_path / "r.safetensors"), "--fp32"]) == 0
    imported = load_generator(tmp_path / "r.safetensors")
    assert imported.arch() == G.arch()
    for psi in (1, 0.7):
        assert torch.equal(outputs(imported, psi), outputs(G, psi))


def test_rosinality_g_ema_alone_and_without_latent_avg(G, tmp_path):
    torch.save(rosinality_state(G), tmp_path / "g_ema.pt")
    imported, info = rosinality_generator(tmp_path / "g_ema.pt")
    assert torch.equal(outputs(imported, 1), outputs(G, 1))
    assert "mean w of 4096 seeded z" in info["w_avg"]
    with torch.no_grad():
        z = torch.randn(4096, 16, generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(imported.mapping.w_avg, G.mapping(z)[:, 0].mean(dim=0))


def test_rosinality_files_of_other_kinds_and_hostile_ones(G, tmp_path, capsys):
    marker = tmp_path / "ran"
    state = rosinality_state(G)
    torch.save({"g_ema": {**state, "dwt.weight": torch.zeros(1)}}, tmp_path / "swagan.pt")
    torch.save({"g_ema": state, "args": Call(os.system, f"touch {marker}")}, tmp_path / "evil.pt")
    torch.save(DCGAN(latent_dim=8, width=0.125).state_dict(), tmp_path / "dcgan.pt")
    legacy = tmp_path / "legacy.pt"
    save_rosinality(legacy, G, legacy=True)
    write(tmp_path / "cut.pt", legacy.read_bytes()[:-10])  # the last storage cut short
    write(tmp_path / "network.pkl", dumps(official_snapshot(G)))
    for name, message in [("swagan.pt", "parameters facegan does not know (dwt.weight)"),
                          ("evil.pt", "not a plain checkpoint of tensors"),
                          ("dcgan.pt", "a plain state dict of another model"),
                          ("cut.pt", "declares"),
                          ("network.pkl", "plain pickle, not a torch.save checkpoint; for NVIDIA's network pickles")]:
        err = one_line_error(["import", "rosinality", tmp_path / name, "--out", tmp_path / "x.safetensors"], capsys)
        assert message in err, err
    assert not marker.exists() and not (tmp_path / "x.safetensors").exists()


def test_fp16_export_is_refused_when_weights_exceed_fp16(tmp_path, capsys):
    G = fixture_generator()
    with torch.no_grad():
        G.synthesis.b4.conv1.noise_const[0, 0] = 1e6  # beyond fp16's 65504; the conv clamp keeps fp32 finite
    write(tmp_path / "big.pkl", dumps(official_snapshot(G)))
    err = one_line_error(["import", "stylegan2", tmp_path / "big.pkl", "--out", tmp_path / "x.safetensors"], capsys)
    assert "beyond fp16's range; import it with --fp32" in err
    assert main(["import", "stylegan2", str(tmp_path / "big.pkl"), "--out", str(tmp_path / "x.safetensors"),
                 "--fp32"]) == 0


# ----------------------------------------------------------------------------- download
def test_download_fetches_and_imports_a_pretrained_pickle(G, tmp_path, serve, monkeypatch, capsys):
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))  # a pickle kept by another test is reused
    payload = dumps(official_snapshot(G))
    server = serve(payload, cut_after=len(payload) // 3, cuts=1)  # the first transfer breaks off: resumed
    url = server.url.rsplit("/", 1)[0] + "/ffhq.pkl"
    out = tmp_path / "ffhq.safetensors"
    assert main(["download", "stylegan2-ffhq", "--url", url, "--out", str(out), "--fp32"]) == 0
    assert server.ranges[1] == f"bytes={len(payload) // 3}-"
    assert torch.equal(outputs(load_generator(out), 0.7), outputs(G, 0.7))
    cached = download.cache_root() / "pretrained" / "ffhq.pkl"
    assert not cached.exists()  # deleted after the import (--keep-pkl keeps it)
    assert "facegan sample --generator" in capsys.readouterr().out


def test_download_refuses_a_file_of_another_size_or_checksum(G, tmp_path, serve, monkeypatch):
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))  # a pickle kept by another test is reused
    payload = dumps(official_snapshot(G))
    server = serve(payload)
    url = server.url.rsplit("/", 1)[0] + "/ffhq.pkl"
    cached = download.cache_root() / "pretrained" / "ffhq.pkl"
    for entry, message in [(pretrained.Pretrained(url, 32, "test", size=len(payload) + 1), "not the recorded"),
                           (pretrained.Pretrained(url, 32, "test", size=len(payload), sha256="0" * 64),
                            "has SHA-256")]:
        monkeypatch.setitem(pretrained.PRETRAINED, "stylegan2-ffhq", entry)
        with pytest.raises(FaceganError, match=message):
            download.download_pretrained("stylegan2-ffhq", tmp_path / "x.safetensors", progress=False)
        assert not cached.exists() and not (tmp_path / "x.safetensors").exists()
    import hashlib
    good = pretrained.Pretrained(url, 32, "test", size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setitem(pretrained.PRETRAINED, "stylegan2-ffhq", good)
    download.download_pretrained("stylegan2-ffhq", tmp_path / "x.safetensors", keep_pkl=True, progress=False)
    assert cached.is_file() and (tmp_path / "x.safetensors").is_file()


def test_download_without_url_fetches_nvidias_pickle(G, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))  # a pickle kept by another test is reused
    payload, fetched = dumps(official_snapshot(G)), []

    def fake_fetch(url, dest, progress=True, **kwargs):
        fetched.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        return write(dest, payload)

    monkeypatch.setattr(download, "fetch", fake_fetch)
    monkeypatch.chdir(tmp_path)
    for name, tail in [("stylegan2-ffhq", "pretrained/ffhq.pkl"), ("stylegan2-metfaces", "pretrained/metfaces.pkl"),
                       ("stylegan2-ffhq-256", "ffhq-res256-mirror-paper256-noaug.pkl")]:
        assert main(["download", name]) == 0
        assert fetched[-1].startswith("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/")
        assert fetched[-1].endswith(tail)
        assert (tmp_path / f"{name}.safetensors").is_file()


@pytest.fixture
def serve():
    servers = []

    def start(*args, **kwargs):
        servers.append(test_download.Server(*args, **kwargs))
        return servers[-1]
    yield start
    for s in servers:
        s.close()


# ----------------------------------------------------------------------------- big images
def test_generate_keeps_large_images_to_few_per_forward_pass(monkeypatch):
    """1024 px faces go through the generator one at a time (a batch of 64 would need tens of GB)."""
    sizes = []

    class Big(torch.nn.Module):
        resolution, latent_dim = 1024, 4

        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, z):
            sizes.append(len(z))
            return torch.zeros(len(z), 3, 1, 1)

    generate(Big(), torch.zeros(3, 4))
    Big.resolution = 64
    generate(Big(), torch.zeros(300, 4))
    assert sizes == [1, 1, 1, 256, 44]
