"""course_utils.augment: shapes, ranges, seeding, and the geometry of the affine warp."""
import pytest
import torch

from course_utils.augment import add_noise, affine_matrices, augment, brightness_contrast, random_affine, random_crop


def _batch():
    return torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("fn", [
    lambda x, g: random_affine(x, generator=g),
    lambda x, g: random_crop(x, 12, generator=g),
    lambda x, g: brightness_contrast(x, 0.2, 0.3, generator=g),
    lambda x, g: add_noise(x, 0.1, generator=g),
    lambda x, g: augment(x, brightness=0.1, contrast=0.1, noise=0.05, generator=g),
])
def test_shape_range_seeding_and_input_untouched(fn):
    x = _batch()
    before = x.clone()
    a = fn(x, torch.Generator().manual_seed(1))
    b = fn(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)
    assert torch.equal(x, before)
    assert a.min() >= -1e-6 and a.max() <= 1 + 1e-6
    single = fn(x[0], torch.Generator().manual_seed(1))
    assert single.shape == x[0].shape


def test_identity_affine_is_exact():
    x = _batch()
    assert torch.allclose(random_affine(x, degrees=0, translate=0, scale=1.0, shear=0), x, atol=1e-5)
    theta = affine_matrices(3)
    assert torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(3, 2, 3))


def test_translation_moves_content_by_the_requested_fraction():
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 8, 4] = 1.0
    out = random_affine(x, degrees=0, translate=(0.25, 0.25), scale=1.0, shear=0)  # +4 px in x and y
    assert out[0, 0].argmax().item() == 12 * 16 + 8


def test_rotation_by_90_degrees():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 1:3, 0:8] = 1.0  # a horizontal bar near the top
    out = random_affine(x, degrees=(90, 90), translate=0, scale=1.0)
    col_mass = out[0, 0].sum(0)
    assert (col_mass > 1).sum() == 2  # now a vertical bar: two full columns


def test_zoom_above_one_enlarges_content():
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 6:10, 6:10] = 1.0
    big = random_affine(x, degrees=0, translate=0, scale=(1.5, 1.5))
    assert big.sum() > 1.5 * x.sum()


def test_brightness_contrast_keeps_the_mean_for_contrast_only():
    x = torch.full((2, 1, 4, 4), 0.5)
    x[:, :, :2] = 0.3
    out = brightness_contrast(x, brightness=0.0, contrast=(2.0, 2.0))
    assert torch.allclose(out.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError):
        random_crop(_batch(), 20)
    with pytest.raises(TypeError):
        random_affine(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError):
        add_noise(_batch(), -1.0)
