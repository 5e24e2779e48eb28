"""W space of style generators (facegan.editing.mixing, facegan.latent): which resolution each w drives, style-group parsing,
W interpolation and the style-mixing figure, from Python and from the CLI."""
import pytest
import torch
from PIL import Image

from facegan.cli import main
from facegan.config import build_config
from facegan.editing.mixing import layer_resolutions, mixing_grid, parse_layers
from facegan.errors import FaceganError
from facegan.interop.export import export_generator
from facegan.latent import interpolate_w, latents_for_seeds, render
from facegan.models import build_models
from facegan.models.dcgan import Generator as DCGAN


def tiny(resolution: int = 16):
    """A tiny stylegan2 with non-zero noise strengths and w_avg, in eval mode."""
    torch.manual_seed(0)
    cfg = build_config("paper", {"arch": "stylegan2", "latent_dim": 8, "w_dim": 12, "channel_base": 128,
                                 "channel_max": 8})
    G, _ = build_models(cfg, 3, resolution)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)
    G.train()(torch.randn(8, 8))  # a train-mode forward moves w_avg off zero
    return G.eval(), cfg


@torch.no_grad()
def seeds_to_ws(G, seeds):
    """Each seed's ws (N, num_ws, w_dim), straight from the mapping network (not through facegan.latent)."""
    return G.mapping(latents_for_seeds(seeds, G.latent_dim), update_w_avg=False)


synthesize = render  # ws (N, num_ws, w_dim) -> images: the synthesis network in eval mode


def test_each_w_drives_the_resolution_of_its_layer():
    G, _ = tiny(64)
    assert G.num_ws == 10
    assert layer_resolutions(G) == [4, 8, 8, 16, 16, 32, 32, 64, 64, 64]
    assert parse_layers("coarse", G) == [0, 1, 2]
    assert parse_layers("middle", G) == [3, 4, 5, 6]
    assert parse_layers("fine", G) == [7, 8, 9]
    assert parse_layers("2-4", G) == [2, 3, 4] and parse_layers("9", G) == [9]
    for bad in ["10", "3-1", "-1", "x", "0-10", ""]:
        with pytest.raises(FaceganError, match="coarse, middle, fine or a layer range A-B within 0-9"):
            parse_layers(bad, G)
    small, _ = tiny(16)  # 4 and 8 px layers, then 16 px: no fine ones
    assert parse_layers("middle", small) == [3, 4, 5]
    with pytest.raises(FaceganError, match="this 16 px generator has no fine layers"):
        parse_layers("fine", small)


def test_w_interpolation_runs_straight_between_the_two_seeds_ws():
    G, _ = tiny()
    faces = interpolate_w(G, 3, 5, steps=5)
    ws = seeds_to_ws(G, [3, 5])
    assert faces.shape == (5, 3, 16, 16)
    assert torch.allclose(faces[0], synthesize(G, ws[:1])[0], atol=1e-5)
    assert torch.allclose(faces[-1], synthesize(G, ws[1:])[0], atol=1e-5)  # lerp at t = 1: rounding
    assert torch.allclose(faces[2], synthesize(G, (ws[:1] + ws[1:]) / 2)[0], atol=1e-5)  # the midpoint in W
    # the end faces are the faces `sample` draws for those seeds (same z, eval mode, const noise)
    from facegan.latent import sample
    assert torch.allclose(faces[0], sample(G, 1, seed=3)[0], atol=1e-5)


def test_mixing_grid_copies_exactly_the_groups_layers_from_the_row_seed():
    G, _ = tiny(64)
    rows, cols = [1, 2], [3, 4, 5]
    faces, labels = mixing_grid(G, rows, cols, ["coarse", "fine"])
    assert labels == ["", "coarse", "coarse", "fine", "fine"]
    assert faces.shape == (5 * 4, 3, 64, 64)
    grid = faces.reshape(5, 4, 3, 64, 64)
    assert torch.equal(grid[0, 0], torch.ones(3, 64, 64))  # the blank corner
    ws_rows, ws_cols = seeds_to_ws(G, rows), seeds_to_ws(G, cols)
    assert torch.allclose(grid[0, 1:], synthesize(G, ws_cols), atol=1e-5)  # header: the A faces
    for band, group in enumerate(["coarse", "fine"]):
        layers = parse_layers(group, G)
        for r in range(2):
            row = grid[1 + band * 2 + r]
            assert torch.allclose(row[0], synthesize(G, ws_rows[r:r + 1])[0], atol=1e-5)  # B's face
            expected = ws_cols.clone()
            expected[:, layers] = ws_rows[r, layers]
            assert torch.allclose(row[1:], synthesize(G, expected), atol=1e-5)
            # and the copy changed those faces (each A differs from B at the other layers)
            assert not torch.allclose(row[1:], grid[0, 1:], atol=1e-3)


def test_mix_and_w_interpolation_from_the_cli(tmp_path):
    G, cfg = tiny(32)
    path = export_generator(G, tmp_path / "generator.safetensors", cfg.to_dict())
    out = tmp_path / "mix.png"
    assert main(["mix", "--generator", str(path), "--rows", "1,2", "--cols", "3,4,5", "--device", "cpu",
                 "--styles", "coarse,middle,6-7", "--truncation", "0.7", "--out", str(out)]) == 0
    image = Image.open(out)
    # 1 header + 3 groups x 2 rows of 1 + 3 faces (32 px, 2 px padding), plus the label column
    assert image.size == (56 + 4 * 34 + 2, 7 * 34 + 2)
    strip = tmp_path / "w.png"
    assert main(["interpolate", "--generator", str(path), "--space", "w", "--steps", "4", "--device", "cpu",
                 "--out", str(strip)]) == 0
    assert Image.open(strip).size == (4 * 34 + 2, 34 + 2)


@pytest.mark.parametrize("args, message", [
    (["--rows", "1,x"], "--rows takes comma-separated integer seeds"),
    (["--cols", ""], "--cols takes comma-separated integer seeds"),
    (["--styles", ","], "--styles needs at least one"),
    (["--styles", "coarse,huge"], "coarse, middle, fine or a layer range"),
    (["--truncation", "2"], "--truncation must be between 0 and 1"),
])
def test_mix_mistakes_get_one_line_and_write_nothing(tmp_path, capsys, args, message):
    G, cfg = tiny()
    path = export_generator(G, tmp_path / "generator.safetensors", cfg.to_dict())
    out = tmp_path / "mix.png"
    assert main(["mix", "--generator", str(path), "--device", "cpu", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_w_space_commands_on_a_dcgan_say_it_has_no_w_space(tmp_path, capsys):
    dcgan = export_generator(DCGAN(8, 0.125), tmp_path / "dcgan.safetensors")
    assert main(["mix", "--generator", str(dcgan), "--device", "cpu", "--out", str(tmp_path / "m.png")]) == 2
    assert "facegan mix needs a style generator (stylegan2)" in capsys.readouterr().err
    assert main(["interpolate", "--generator", str(dcgan), "--space", "w", "--device", "cpu",
                 "--out", str(tmp_path / "i.png")]) == 2
    assert "W space needs a style generator" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists() and not (tmp_path / "i.png").exists()
