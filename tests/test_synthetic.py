import torch

from facegan.data import synthetic_faces as synthetic


def test_deterministic_and_independent_of_count():
    a, attrs_a = synthetic.render_faces(6, seed=3)
    b, attrs_b = synthetic.render_faces(3, seed=3)
    assert torch.equal(a[:3], b)
    assert all(torch.equal(attrs_a[k][:3], attrs_b[k]) for k in attrs_b)
    c, _ = synthetic.render_faces(3, seed=4)
    assert not torch.equal(b, c)


def test_images_vary_and_use_the_full_frame():
    images, _ = synthetic.render_faces(32, seed=0)
    assert images.dtype == torch.uint8 and images.shape == (32, 3, 64, 64)
    flat = images.float().flatten(1)
    assert torch.cdist(flat, flat).fill_diagonal_(1e9).min() > 100  # no two faces alike
    assert images.float().std(dim=(2, 3)).mean() > 20  # not flat colour fields


def test_attributes_recorded_with_plausible_rates():
    n = 400
    _, attrs = synthetic.render_faces(n, seed=1)
    assert set(synthetic.ATTRIBUTES) <= set(attrs)
    for name in ("smiling", "male"):
        assert 0.35 < attrs[name].float().mean() < 0.65, name
    assert 0.1 < attrs["eyeglasses"].float().mean() < 0.3
    assert not (attrs["beard"].bool() & ~attrs["male"].bool()).any()  # beards only on male-ish faces
    grey_index = synthetic.HAIR_NAMES.index("grey")
    assert torch.equal(attrs["grey_hair"].bool(), attrs["hair_colour"] == grey_index)


def test_attributes_change_the_pixels_where_expected():
    """Glasses darken the eye band, smiles open the mouth: the labels describe the images."""
    images, attrs = synthetic.render_faces(300, seed=2)
    lum = images.float().mean(1)  # (N, 64, 64)
    eye_band, mouth = lum[:, 26:36, 16:48].std((1, 2)), lum[:, 44:52, 24:40]
    glasses = attrs["eyeglasses"].bool()
    assert eye_band[glasses].mean() > eye_band[~glasses].mean()
    smile = attrs["smiling"].bool()
    assert mouth.amin((1, 2))[smile].mean() < mouth.amin((1, 2))[~smile].mean()
