"""facegan import stylegan3, and the stylegan3 repository's StyleGAN2 pickles: NVIDIA's own files in, faces
equal to NVIDIA's out, nothing from the file run.

The fixtures in tests/fixtures/stylegan3/ were written by NVIDIA's stylegan3 code (its persistence pickled
the snapshots; bench/stylegan3_parity.py --write-fixtures, README.md there) with the z, ws and images
NVIDIA's code computed for them. The reference path (``G.exact = True``, ``--exact``) is allowed 1e-5 (the
images span about +-1): facegan computes the same float operations in the same order (0 difference on the
machine that wrote them), and another CPU's kernels may round a sum differently. The fast path (the default
for drawing: polyphase resampling in bands, tests/test_fast_resampling.py) sums in another order and is
allowed 1e-4, the bound issue 39 set.
"""
import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from test_import_stylegan2 import HOSTILE, hostile_files, one_line_error

from facegan.cli import main
from facegan.errors import FaceganError
from facegan.interop import pretrained
from facegan.interop.export import load_generator, read_export
from facegan.interop.nvidia_stylegan2 import official_generator
from facegan.interop.nvidia_stylegan3 import official_stylegan3_generator
from facegan.latent import sample, transformed
from facegan.models import generator_from_meta
from facegan.models.stylegan3.networks import Generator, image_transform

FIXTURES = Path(__file__).parent / "fixtures" / "stylegan3"
TOLERANCE = 1e-5
FAST_TOLERANCE = 1e-4
SG3_FILES = {"stylegan3-t16-p2.pkl": "T16", "stylegan3-t16-p3.pkl": "T16", "stylegan3-t16-p4.pkl": "T16",
             "stylegan3-r16-p4.pkl": "R16"}
SG2_FILE = "stylegan2-from-stylegan3-repo-p3.pkl"


@pytest.fixture(scope="module")
def reference():
    with safe_open(str(FIXTURES / "reference.safetensors"), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["transform"])


def close(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


# ----------------------------------------------------------------------------- NVIDIA's files
@pytest.mark.parametrize("exact", [True, False], ids=["reference-path", "fast-path"])
@pytest.mark.parametrize("name", sorted(SG3_FILES))
def test_nvidias_stylegan3_pickles_import_and_draw_nvidias_images(name, exact, reference, tmp_path, capsys):
    ref, transform = reference
    key, z = SG3_FILES[name], ref["z"]
    out = tmp_path / "g.safetensors"
    assert main(["import", "stylegan3", str(FIXTURES / name), "--out", str(out), "--fp32"]) == 0
    assert f"StyleGAN3-{key[0]}" in capsys.readouterr().out
    G = load_generator(out, exact=exact)
    assert G.arch()["arch"] == "stylegan3" and G.variant == key[0] and G.exact == exact
    bound = TOLERANCE if exact else FAST_TOLERANCE
    with torch.no_grad():
        assert close(G.mapping.w_avg, ref[f"{key}.w_avg"]) <= TOLERANCE
        for psi in (1.0, 0.7):
            assert close(G.mapping(z, psi), ref[f"{key}.ws.psi{psi}"]) <= TOLERANCE
            assert close(G(z, truncation_psi=psi), ref[f"{key}.images.psi{psi}"]) <= bound, psi
        with transformed(G, transform["rotate"], transform["translate"]):
            turned = G(z, truncation_psi=0.7)
        assert close(turned, ref[f"{key}.images.psi0.7.transformed"]) <= bound
        assert close(G(z, truncation_psi=0.7), ref[f"{key}.images.psi0.7"]) <= bound  # transform undone
    source = json.loads(read_export(out)[1]["source"])
    assert "StyleGAN3" in source["licence"] and source["variant"] == key[0] and len(source["sha256"]) == 64


def test_the_fixtures_are_nvidias_format_with_numpy_1_names():
    """What makes them NVIDIA's released format: persistence records, numpy 1's module names for the
    numpy scalars and arrays in the layers' state, and no NVIDIA source (module_src is a placeholder)."""
    for name in [*SG3_FILES, SG2_FILE]:
        data = (FIXTURES / name).read_bytes()
        assert b"_reconstruct_persistent_obj" in data and b"numpy.core.multiarray" in data
        assert b"numpy._core" not in data and b"NVIDIA CORPORATION" not in data


def test_the_stylegan3_repositorys_stylegan2_pickle_imports(reference, tmp_path):
    ref, _ = reference
    G, info = official_generator(FIXTURES / SG2_FILE)
    assert info["init_kwargs"]["fused_modconv_default"] == "inference_only"  # flat synthesis arguments
    with torch.no_grad():
        for psi in (1.0, 0.7):
            got = G(ref["z"], truncation_psi=psi, noise_mode="const")
            assert close(got, ref[f"SG2.images.psi{psi}"]) <= TOLERANCE


def test_each_kind_names_the_other_for_the_wrong_file(tmp_path, capsys):
    err = one_line_error(["import", "stylegan2", FIXTURES / "stylegan3-r16-p4.pkl", "--out", tmp_path / "x.safetensors"],
                         capsys)
    assert "StyleGAN3-R generator" in err and "facegan import stylegan3" in err
    err = one_line_error(["import", "stylegan3", FIXTURES / SG2_FILE, "--out", tmp_path / "x.safetensors"], capsys)
    assert "StyleGAN2 generator" in err and "facegan import stylegan2" in err
    assert not (tmp_path / "x.safetensors").exists()


# ----------------------------------------------------------------------------- hostile and broken files
def test_code_in_module_src_is_never_run(tmp_path, reference):
    """The fixture with its placeholder module_src swapped for code of the same length (so the pickle's
    length fields still hold): the import ignores it, as it ignores NVIDIA's real source."""
    data = (FIXTURES / "stylegan3-t16-p4.pkl").read_bytes()
    placeholder = b"# NVIDIA's module source, replaced by facegan's fixture script (facegan never reads it)\n"
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()#".encode()
    assert placeholder in data and len(code) <= len(placeholder)
    path = tmp_path / "src.pkl"
    path.write_bytes(data.replace(placeholder, code.ljust(len(placeholder) - 1, b"#") + b"\n"))
    G, _ = official_stylegan3_generator(path)
    ref, _ = reference
    with torch.no_grad():
        assert close(G(ref["z"]), ref["T16.images.psi1.0"]) <= TOLERANCE
    assert not marker.exists()


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_by_the_stylegan3_import_too(tmp_path, capsys, name):
    from test_import_stylegan2 import fixture_generator
    path, marker, message = hostile_files(tmp_path, fixture_generator())[name]
    err = one_line_error(["import", "stylegan3", path, "--out", tmp_path / "x.safetensors"], capsys)
    assert message in err, err
    assert marker is None or not marker.exists()
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.99])
def test_a_truncated_stylegan3_pickle_gets_one_line(tmp_path, capsys, cut):
    data = (FIXTURES / "stylegan3-t16-p3.pkl").read_bytes()
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[:int(len(data) * cut)])
    err = one_line_error(["import", "stylegan3", path, "--out", tmp_path / "x.safetensors"], capsys)
    assert "truncated" in err, err


def test_edited_layer_geometry_is_refused(tmp_path):
    """A file whose layers store a padding other than the init arguments give is not drawn wrongly."""
    from facegan.interop.nvidia_pickle import load_network_pickle
    from facegan.interop.nvidia_stylegan3 import check_layer_geometry

    data = load_network_pickle(FIXTURES / "stylegan3-t16-p4.pkl")
    layer = data["G_ema"].state["_modules"]["synthesis"].state["_modules"]["L0_36_16"]
    layer.state["padding"] = [0, 0, 0, 0]
    G = Generator(16, 16, 16, 3, channel_base=256, channel_max=16, num_layers=4)
    with pytest.raises(FaceganError, match="L0_36_16 stores padding"):
        check_layer_geometry(G, data["G_ema"], Path("edited.pkl"))


# ----------------------------------------------------------------------------- facegan's side of it
def test_a_fresh_stylegan3_round_trips_through_an_fp16_export(tmp_path):
    from facegan.interop.export import export_generator
    torch.manual_seed(0)
    G = Generator(8, 8, 16, 3, channel_base=256, channel_max=16, num_layers=4, conv_kernel=1,
                  use_radial_filters=True).eval()
    export_generator(G, tmp_path / "g.safetensors", half=True)
    back = load_generator(tmp_path / "g.safetensors")
    assert back.arch() == G.arch() and generator_from_meta(G.arch()).variant == "R"
    z = torch.randn(2, 8)
    with torch.no_grad():
        assert close(back(z), G(z)) < 0.02  # fp16 weights
    with pytest.raises(FaceganError, match="import-only"):
        from facegan.models import architecture
        architecture("stylegan3").build_models(None, 8, 3, 16)


def test_rotation_and_translation_move_the_face_not_the_texture():
    """Turning the input by 90 degrees turns the image by 90 degrees (up to the margin's edge effects):
    the alias-free property the sliders show. A 180-degree turn twice is the identity."""
    torch.manual_seed(0)
    G = Generator(8, 8, 16, 3, channel_base=256, channel_max=16, num_layers=4, conv_kernel=1,
                  use_radial_filters=True).eval()
    z = torch.randn(2, 8)
    with torch.no_grad():
        plain = G(z)
        with G.transformed(rotate=90):
            turned = G(z)
    # R is rotation equivariant: the turned image is close to the plain one rotated (far closer than unrelated)
    rotated = torch.rot90(plain, k=1, dims=(2, 3))
    assert close(turned, rotated) < 0.5 * close(turned, plain)
    assert torch.allclose(image_transform(180) @ image_transform(180), torch.eye(3), atol=1e-6)


def test_sample_rotates_and_translates_a_stylegan3_and_refuses_others(tmp_path, capsys):
    out = tmp_path / "g.safetensors"
    assert main(["import", "stylegan3", str(FIXTURES / "stylegan3-t16-p4.pkl"), "--out", str(out)]) == 0
    capsys.readouterr()
    for extra in ([], ["--rotate", "30", "--translate", "0.2,-0.1"]):
        assert main(["sample", "--generator", str(out), "--n", "4", "--out", str(tmp_path / "s.png"), *extra]) == 0
    for bad, message in ((["--translate", "3"], "--translate takes X,Y"), (["--rotate", "nan"], "finite")):
        err = one_line_error(["sample", "--generator", out, "--out", tmp_path / "s.png", *bad], capsys)
        assert message in err
    sg2 = tmp_path / "sg2.safetensors"
    assert main(["import", "stylegan2", str(FIXTURES / SG2_FILE), "--out", str(sg2)]) == 0
    capsys.readouterr()
    err = one_line_error(["sample", "--generator", sg2, "--rotate", "10", "--out", tmp_path / "s.png"], capsys)
    assert "StyleGAN3" in err


def test_the_other_commands_take_a_stylegan3_export(tmp_path, capsys):
    out = tmp_path / "g.safetensors"
    assert main(["import", "stylegan3", str(FIXTURES / "stylegan3-t16-p4.pkl"), "--out", str(out)]) == 0
    for command in (["interpolate", "--space", "w", "--steps", "3"], ["mix", "--rows", "1,2", "--cols", "3,4", "--styles", "coarse,middle,4-5"]):
        assert main([command[0], "--generator", str(out), "--out", str(tmp_path / f"{command[0]}.png"),
                     *command[1:]]) == 0, command
    assert main(["directions", "--generator", str(out), "--n", "200", "--share", "0.2", "--attributes", "smile,age",
                 "--sefa", "2", "--device", "cpu"]) == 0  # fitted in W, written beside the export
    assert main(["edit", "--generator", str(out), "--edit", "smile=+2", "--out", str(tmp_path / "edit.png")]) == 0
    G = load_generator(out)
    faces = sample(G, 2, seed=1)
    from facegan.editing.projection import project
    codes, images, _ = project(G, faces, steps=3, space="w+", perceptual_weight=0.0, candidates=4, say=lambda *a: None)
    assert codes.shape == (2, G.num_ws, G.w_dim) and images.shape == faces.shape
    assert G.synthesis.ws_resolutions()[0] == 4 and G.synthesis.ws_resolutions()[-1] == 16


# ----------------------------------------------------------------------------- download
def test_download_knows_nvidias_stylegan3_face_models():
    names = [n for n, p in pretrained.PRETRAINED.items() if p.kind == "stylegan3"]
    assert {"stylegan3-t-ffhq-1024", "stylegan3-r-ffhqu-256", "stylegan3-t-metfaces-1024"} <= set(names)
    for name in names:
        entry = pretrained.PRETRAINED[name]
        assert entry.url.startswith("https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/")
        assert entry.url.endswith(f"-{entry.resolution}x{entry.resolution}.pkl") and "StyleGAN3" in entry.licence


def test_download_fetches_and_imports_a_stylegan3_pickle(tmp_path, monkeypatch, capsys):
    import test_download
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))
    payload = (FIXTURES / "stylegan3-r16-p4.pkl").read_bytes()
    server = test_download.Server(payload, cut_after=len(payload) // 2, cuts=1)  # 127.0.0.1; breaks once
    try:
        url = server.url.rsplit("/", 1)[0] + "/stylegan3-r-ffhqu-256x256.pkl"
        out = tmp_path / "r.safetensors"
        assert main(["download", "stylegan3-r-ffhqu-256", "--url", url, "--out", str(out)]) == 0
    finally:
        server.close()
    assert load_generator(out).variant == "R"
    assert "StyleGAN3-R" in capsys.readouterr().out


def test_eval_measures_a_stylegan3_export(tmp_path, capsys):
    """facegan's face metrics need 32 px or more: a fresh 32 px StyleGAN3-T, against the built-in faces."""
    from facegan.interop.export import export_generator
    torch.manual_seed(0)
    export_generator(Generator(8, 8, 32, 3, channel_base=256, channel_max=16, num_layers=4).eval(),
                     tmp_path / "t32.safetensors")
    assert main(["eval", "--generator", str(tmp_path / "t32.safetensors"), "--data", "synthetic", "--n", "64",
                 "--metrics", "swd", "--device", "cpu"]) == 0
    assert "swd_avg" in capsys.readouterr().out
