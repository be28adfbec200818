"""The source task of the course's pretrained base: printed characters from matplotlib's own fonts.

No model hub is reachable offline, so the course pretrains its own small CNN (see
:mod:`course_utils.pretrained`). Its source task: recognise **36 printed characters** -- the
digits 0-9 and the 26 letters (upper and lower case are the same class, as in EMNIST), drawn in
the fonts that ship with matplotlib (DejaVu Sans/Serif/Mono, STIX, Computer Modern; regular,
bold, italic), each image randomly distorted.

Why printed characters: they are *related* to handwritten digits -- the same kind of image:
strokes, curves, corners and loops centred in a small box -- but *different*: typeset shapes
from 19 fonts, not handwriting from people, and 36 classes, most of them letters. This is the
usual situation of transfer learning (an ImageNet network has seen many dogs before it is
fine-tuned on your dog photos): the base has never seen a handwritten digit, and the target
task gets a new head, so nothing but the features is reused.

Each image is made the way scikit-learn's digits were made, so that source and target look
alike at the pixel level: a glyph fills a 32x32 box, is randomly warped (rotation, shear,
zoom, shift) and its strokes thickened or thinned, then the 32x32 picture is averaged over
4x4 blocks to 8x8 and quantised to 17 grey levels (the digits' 0..16), and finally enlarged
to 16x16 exactly like ``course_utils.data.load_digits(size=16)``; a little Gaussian noise and
a random contrast are added. Everything is seeded: the same seed gives the same images.

Example::

    from course_utils.glyphs import make_glyphs, CHARACTERS
    x, y = make_glyphs(1000, seed=0)     # (1000, 1, 16, 16) float32 in [0, 1], (1000,) int64
    CHARACTERS[y[0]]                     # e.g. 'q' or '7'
"""
from __future__ import annotations

import functools
import string
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .augment import add_noise, random_affine

__all__ = ["CHARACTERS", "FONTS", "TEST_FONTS", "TRAIN_FONTS", "glyph_templates", "make_glyphs"]

#: Class ``k`` is the character ``CHARACTERS[k]`` (letters: upper or lower case).
CHARACTERS = string.digits + string.ascii_lowercase

#: The matplotlib font files used (symbol and size-variant fonts excluded).
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmti10.ttf", "cmtt10.ttf", "cmmi10.ttf",
)
#: Fonts held out of pretraining: the source-task accuracy is measured on fonts never seen.
TEST_FONTS = ("DejaVuSerif-BoldItalic.ttf", "DejaVuSansMono-Oblique.ttf", "cmss10.ttf")
TRAIN_FONTS = tuple(f for f in FONTS if f not in TEST_FONTS)

_BOX = 32  # templates are rendered into a 32x32 box, like the 32x32 bitmaps behind sklearn's digits


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _render_font(font: str, chars: str, box: int = _BOX, fill: float = 0.84) -> np.ndarray:
    """Every char of ``chars`` in one font, each scaled to fill ``fill`` of a ``box`` x ``box`` image.

    All glyphs of a font are drawn side by side on one anti-aliased canvas (4x supersampled,
    one draw per font) and cut apart. Returns float32 ``(len(chars), box, box)``, ink = 1.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    prop = FontProperties(fname=str(_font_dir() / font))
    fig = Figure(figsize=(len(chars), 1), dpi=box * 4, layout="none")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(0, len(chars))
    ax.set_ylim(0, 1)
    for k, char in enumerate(chars):
        path = TextPath((0, 0), char, size=100, prop=prop)
        if len(path.vertices) == 0:
            raise ValueError(f"font {font} has no glyph for {char!r}")
        (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
        s = fill / max(x1 - x0, y1 - y0)
        # centre the glyph in cell k, keeping its aspect ratio
        t = Affine2D().translate(-(x0 + x1) / 2, -(y0 + y1) / 2).scale(s).translate(k + 0.5, 0.5)
        ax.add_patch(PathPatch(t.transform_path(path), facecolor="black", edgecolor="none"))
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., 0].astype(np.float32)
    ink = 1.0 - pixels / 255.0                                 # (4 box, 4 box * len(chars))
    ink = ink.reshape(box, 4, len(chars), box, 4).mean(axis=(1, 4))  # (box, len(chars), box)
    return np.ascontiguousarray(ink.transpose(1, 0, 2))


@functools.lru_cache(maxsize=4)
def _templates(fonts: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    chars = "".join(c.upper() + c for c in CHARACTERS)  # a digit twice, so every class has 2 templates
    images = np.concatenate([_render_font(font, chars) for font in fonts])
    labels = np.tile(np.repeat(np.arange(len(CHARACTERS)), 2), len(fonts))
    return torch.tensor(images).unsqueeze(1), torch.tensor(labels)


def glyph_templates(fonts=TRAIN_FONTS) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean glyphs: every character (letters in upper and lower case) in every font of ``fonts``.

    Returns:
        ``(x, y)``: float32 ``(2 * 36 * len(fonts), 1, 32, 32)`` in ``[0, 1]`` (ink = 1) and
        int64 labels 0..35 (``CHARACTERS``); each digit appears twice, so classes are balanced. Rendered once per session (about a second), then cached; a fresh
        copy is returned each call.
    """
    x, y = _templates(tuple(fonts))
    return x.clone(), y.clone()


def make_glyphs(n: int, seed: int = 0, fonts=TRAIN_FONTS, size: int = 16, distort: bool = True):
    """``n`` random character images, prepared like ``load_digits(size=size)``.

    Args:
        n: number of images.
        seed: the same seed gives the same images.
        fonts: font files to draw from (default: the training fonts; pass ``TEST_FONTS`` for
            fonts held out of pretraining).
        size: side of the returned images (16 matches ``load_digits(size=16)``).
        distort: apply the random warp, stroke-width change, contrast and noise.
    Returns:
        ``(x, y)``: float32 ``(n, 1, size, size)`` in ``[0, 1]`` and int64 ``(n,)`` classes 0..35.
    """
    g = torch.Generator().manual_seed(int(seed))
    templates, labels = _templates(tuple(fonts))
    pick = torch.randint(0, len(templates), (n,), generator=g)
    x, y = templates[pick].clone(), labels[pick].clone()
    if distort:
        # stroke width: keep, thicken by 1 or by 2 pixels (max-pooling dilates the ink), a third each
        width = torch.randint(0, 3, (n,), generator=g).view(n, 1, 1, 1)
        thick = F.max_pool2d(x, 3, stride=1, padding=1)
        thicker = F.max_pool2d(thick, 3, stride=1, padding=1)
        x = torch.where(width == 0, x, torch.where(width == 1, thick, thicker))
        x = random_affine(x, degrees=15, translate=0.06, scale=(0.8, 1.1), shear=0.35, generator=g)
    x = F.avg_pool2d(x, 4)                          # 32x32 -> 8x8 block averages, as for the digits
    x = torch.round(x.clamp(0, 1) * 16) / 16        # 17 grey levels, like the digits' 0..16
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    if distort:
        x = x * (0.7 + 0.3 * torch.rand(n, 1, 1, 1, generator=g))  # fainter or full ink
        x = add_noise(x, 0.03, generator=g)
    return x.contiguous(), y
