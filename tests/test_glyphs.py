"""course_utils.glyphs: the pretraining data rendered from matplotlib's fonts."""
import torch

from course_utils.glyphs import CHARACTERS, FONTS, TEST_FONTS, TRAIN_FONTS, glyph_templates, make_glyphs


def test_fonts_split():
    assert set(TRAIN_FONTS) | set(TEST_FONTS) == set(FONTS)
    assert not set(TRAIN_FONTS) & set(TEST_FONTS)
    assert len(CHARACTERS) == 36


def test_templates_have_ink_in_every_font():
    x, y = glyph_templates(TEST_FONTS)
    assert x.shape == (2 * 36 * len(TEST_FONTS), 1, 32, 32)
    assert torch.equal(torch.bincount(y), torch.full((36,), 2 * len(TEST_FONTS)))
    ink = x.sum(dim=(1, 2, 3))
    assert (ink > 20).all()  # no missing glyph renders empty
    assert x.min() >= 0 and x.max() <= 1


def test_make_glyphs_is_seeded_and_digit_like():
    a, ya = make_glyphs(64, seed=3)
    b, yb = make_glyphs(64, seed=3)
    c, _ = make_glyphs(64, seed=4)
    assert a.shape == (64, 1, 16, 16) and a.dtype == torch.float32 and ya.dtype == torch.int64
    assert torch.equal(a, b) and torch.equal(ya, yb) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    assert 0.1 < a.mean() < 0.5  # mostly background, like the digits
    clean, _ = make_glyphs(8, seed=0, distort=False, size=8)
    assert torch.allclose(clean * 16, torch.round(clean * 16))  # 17 grey levels like sklearn's digits
