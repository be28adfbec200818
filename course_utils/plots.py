"""The course's plotting style and the figures that many notebooks share.

Every notebook calls ``use_style()`` once, near the top. After that, plain matplotlib code
and the helpers below all use the same colour-blind-safe colours (the Okabe-Ito palette),
font sizes and layout::

    from course_utils.plots import use_style, plot_curves
    use_style()
    plot_curves({"train": train_losses, "validation": val_losses})

The helpers draw and return the axes (or figure) without calling ``plt.show()``, so you can
keep adjusting the picture: ``ax = plot_curves(...); ax.set_ylim(0, 1)``. Pass ``ax=`` to draw
into a panel of your own figure. Inputs may be lists, NumPy arrays or torch tensors.
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

__all__ = [
    "STYLE_PATH",
    "COLOR",
    "COLORS",
    "use_style",
    "style_context",
    "new_figure",
    "plot_curves",
    "plot_layer_norms",
    "show_images",
    "plot_decision_boundary",
    "figure_to_png",
    "render_png",
    "FastRedraw",
]

#: The style file that ships with the package.
STYLE_PATH = Path(__file__).with_name("course.mplstyle")

#: The Okabe-Ito colours by name (hex strings). Use them to colour things consistently,
#: e.g. ``ax.axhline(0, color=COLOR["vermillion"])``.
COLOR = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: The same colours in the order of the style's colour cycle: line k gets ``COLORS[k % 8]``.
COLORS = list(COLOR.values())


def use_style() -> None:
    """Apply the course style to every figure made from now on. Calling it again is harmless.

    Inside a notebook it also makes figures cheaper where nobody looks at them:

    * while nbgrader grades or validates the notebook
      (:func:`course_utils.reproducibility.grading`), figures are not drawn at all: showing one
      prints the line :data:`NOT_DRAWN` instead of a picture. The lessons' figures are
      demonstrations, never graded answers; drawing them was 1-2.5 CPU-s of every graded
      submission (measured: 04_convolution 10.2 -> 7.7 CPU-s per kernel, 01_activations
      8.5 -> 7.4). The student's own notebook keeps its figures; the graded copy and the
      feedback show the note.
    * otherwise in fast mode (:func:`course_utils.reproducibility.fast_mode`), inline figures are
      rendered in one pass instead of the inline backend's two (``bbox_inches=None`` instead of
      ``"tight"``: the style's constrained layout already keeps every label inside the figure),
      about 30% cheaper.
    """
    plt.style.use(STYLE_PATH)
    from course_utils.reproducibility import fast_mode, grading

    if grading():
        _figures_not_drawn()
    elif fast_mode():
        _single_pass_inline_figures()


NOT_DRAWN = "[figure not drawn while grading: it appears when you run the notebook yourself]"


def _figures_not_drawn() -> bool:
    """Show every Matplotlib figure as the one line :data:`NOT_DRAWN`; True if IPython was there.

    IPython's display formatters are what render a figure (PNG, SVG, ...) when the inline
    backend shows it; without their printers for ``Figure`` nothing is rendered, and the plain
    text printer writes the note. Widgets that render their own pictures are not affected.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    for mime, formatter in shell.display_formatter.formatters.items():
        if mime == "text/plain":
            formatter.for_type(Figure, lambda fig, printer, cycle: printer.text(NOT_DRAWN))
        else:
            formatter.pop(Figure, None)
    return True


def _single_pass_inline_figures() -> bool:
    """Make the inline backend render figures without ``bbox_inches="tight"``; True if it did."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        from matplotlib_inline.config import InlineBackend
    except ImportError:  # not in IPython / no inline backend installed
        return False
    if get_ipython() is None or "inline" not in plt.get_backend():
        return False
    formats = InlineBackend.instance().figure_formats
    set_matplotlib_formats(*formats, bbox_inches=None)
    return True


def style_context():
    """A context manager that applies the course style only inside a ``with`` block.

    Example::

        with style_context():
            fig, ax = new_figure()
    """
    return plt.style.context(STYLE_PATH)


# --------------------------------------------------------------------------------------------
# Input helpers
# --------------------------------------------------------------------------------------------
def _to_numpy(values, name: str) -> np.ndarray:
    """A NumPy float array from a list, array or torch tensor (also a list of 0-d tensors)."""
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    elif isinstance(values, (list, tuple)):
        values = [float(v) if hasattr(v, "detach") else v for v in values]
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a list, NumPy array or tensor of numbers, got {type(values).__name__}"
        ) from err


def _to_1d(values, name: str) -> np.ndarray:
    array = _to_numpy(values, name)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {array.shape}")
    return array


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_ax(ax) -> Axes:
    if ax is None:
        return new_figure()[1]
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def new_figure(nrows: int = 1, ncols: int = 1, width: float | None = None, height: float | None = None, **kw):
    """Make a figure with a grid of axes, sized for the course.

    Args:
        nrows, ncols: number of rows and columns of panels, positive integers.
        width, height: figure size in inches; by default 4.5 inches per column (6.4 for a
            single panel) and 3.5 inches per row (4.0 for a single row).
        **kw: passed on to ``plt.subplots`` (e.g. ``sharex=True``, ``squeeze=False``). The
            layout is ``"constrained"`` unless ``layout=`` says otherwise.
    Returns:
        ``(fig, axes)`` as from ``plt.subplots``: a single ``Axes`` for one panel, otherwise
        a NumPy array of them.
    """
    nrows = _check_positive_int("nrows", nrows)
    ncols = _check_positive_int("ncols", ncols)
    if width is None:
        width = 6.4 if ncols == 1 else 4.5 * ncols
    if height is None:
        height = 4.0 if nrows == 1 else 3.5 * nrows
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 < value < 1000:
            raise ValueError(f"{name} must be a positive number of inches, got {value!r}")
    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width, height), **kw)


def figure_to_png(fig, dpi: float | None = None) -> bytes:
    """Render a figure to PNG bytes (e.g. to show a static picture in a widget).

    Args:
        fig: a matplotlib ``Figure`` (an ``Axes`` is also accepted: its figure is used).
        dpi: dots per inch; ``None`` uses the figure's own dpi.
    Returns:
        The PNG file's content as ``bytes``. The figure is neither shown nor closed.
    """
    if isinstance(fig, Axes):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi="figure" if dpi is None else dpi)
    return buffer.getvalue()


def _canvas_png(canvas, compress_level: int) -> bytes:
    """PNG bytes of what an Agg canvas holds now: RGB when every pixel is opaque (the usual case; a
    third less to filter and compress than RGBA), else RGBA."""
    from PIL import Image

    buffer = canvas.buffer_rgba()
    height, width = buffer.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), buffer, "raw", "RGBA", 0, 1)
    if np.asarray(buffer)[..., 3].min() == 255:
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="png", compress_level=compress_level)
    return out.getvalue()


def render_png(fig, compress_level: int = 1) -> bytes:
    """Draw a figure at its own dpi and return PNG bytes, faster than :func:`figure_to_png`.

    What an app's picture needs: one draw on the figure's Agg canvas and a fast zlib level (1),
    instead of ``savefig``'s level 6; about 20% less time per picture on the course's CPU. A
    figure whose canvas is not Agg (another backend) goes through :func:`figure_to_png`.

    Args:
        fig: a matplotlib ``Figure`` (an ``Axes`` is also accepted: its figure is used).
        compress_level: zlib level of the PNG, an integer 0..9.
    """
    if isinstance(fig, Axes):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9:
        raise ValueError(f"compress_level must be an integer 0..9, got {compress_level!r}")
    if not isinstance(fig.canvas, FigureCanvasAgg):
        return figure_to_png(fig)
    fig.canvas.draw()
    return _canvas_png(fig.canvas, compress_level)


# --------------------------------------------------------------------------------------------
# Text stamps: each distinct label rasterised once
# --------------------------------------------------------------------------------------------
#: Rasterised texts, ``key -> [(grey levels (h, w) uint8, dx, dy, angle), ...]`` (offsets in pixels
#: from the text's anchor pixel); shared by every :class:`FastRedraw` figure, oldest dropped first.
_TEXT_STAMPS: dict = {}
_MAX_TEXT_STAMPS = 4096


class _StampRecorder:
    """Stands in for Agg's C++ renderer while a text is rasterised: keeps the grey-level images
    ``draw_text_image`` would blend, and notes any other call (then the text is not cached)."""

    def __init__(self):
        self.stamps: list = []
        self.other = False

    def draw_text_image(self, image, x, y, angle, gc):
        self.stamps.append((np.array(image, dtype=np.uint8, copy=True), x, y, angle))

    def __getattr__(self, name):
        self.other = True
        return lambda *args, **kwargs: None


class _StampRendererAgg(RendererAgg):
    """Agg, but a plain (non-math) text is rasterised once per string, font, angle and canvas height and
    then blended from that cache at a whole-pixel anchor (at most half a pixel from where matplotlib
    would put it). Tick labels repeat from frame to frame, and rasterising them glyph by glyph is most of
    the cost of redrawing an axis whose limits moved."""

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or not s:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        features = getattr(mtext, "get_fontfeatures", lambda: None)()
        language = getattr(mtext, "get_language", lambda: None)()
        key = (s, hash(prop), angle, bool(gc.get_antialiased()), self.dpi, self.height,
               tuple(features) if features else None, language)
        xi, yi = round(x), round(y)
        stamps = _TEXT_STAMPS.get(key)
        if stamps is None:
            recorder, real = _StampRecorder(), self._renderer
            self._renderer = recorder
            try:
                super().draw_text(gc, xi, yi, s, prop, angle, ismath, mtext)
            finally:
                self._renderer = real
            if recorder.other:  # not only glyph images: draw it the ordinary way, uncached
                return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            stamps = [(image, sx - xi, sy - yi, a) for image, sx, sy, a in recorder.stamps]
            _TEXT_STAMPS[key] = stamps
            while len(_TEXT_STAMPS) > _MAX_TEXT_STAMPS:
                _TEXT_STAMPS.pop(next(iter(_TEXT_STAMPS)))
        for image, dx, dy, a in stamps:
            self._renderer.draw_text_image(image, xi + dx, yi + dy, a, gc)


class _StampCanvasAgg(FigureCanvasAgg):
    """The Agg canvas of :class:`FastRedraw` figures: its renderer caches rasterised texts."""

    def get_renderer(self):
        renderer = super().get_renderer()
        if type(renderer) is RendererAgg:
            renderer.__class__ = _StampRendererAgg
        return renderer


class FastRedraw:
    """Re-render one persistent figure quickly when only a few of its artists change.

    A slider that moves a cursor or swaps one curve need not redraw axes, ticks, labels and
    legends: the figure is drawn in full once without the *moving* artists, that background is
    kept, and each later frame restores it and draws only the moving artists on top (blitting,
    done off-screen with the Agg renderer). On the course's 2-core CPU a two-panel figure with a
    log axis takes about 160 ms to render in full and 10-20 ms this way. The figure's canvas also
    rasterises each distinct text (a tick label, a title) once and blends it from a cache afterwards,
    at the nearest whole pixel: moving axes redraw their labels about twice as fast.

    Args:
        fig: a ``matplotlib.figure.Figure`` that lives as long as the app (create it with
            ``Figure(...)`` rather than ``plt.figure`` so that closing pyplot figures never
            destroys it). An Agg canvas is attached if it has none.
        moving: the artists that change from frame to frame (lines, markers, a title's
            ``Text``, even a whole ``ax.xaxis`` whose limits change...). They are drawn last, in
            the given order, on top of everything else.
        compress_level: zlib level of the PNG (0-9); 1 is fast and about 1.5x larger than 6.
        backgrounds: how many backgrounds (one per ``static_key``) to keep, most recent first.
            With a few static states (say, one per drop-down option) each is drawn in full once
            and every later visit is blitted; :meth:`prepare` draws them ahead of time.
        on_top: static artists that must stay above the moving ones (a legend with a frame): they
            are drawn with the background, and after the moving artists their boxes are copied
            back from it (opaque: what a moving artist draws under such a box is hidden).
        regions: for panels whose static parts change independently: rectangles
            ``(x0, y0, x1, y1)`` in figure fractions that tile the figure. ``static_key`` is then a
            tuple of one key per region, and each region keeps its own ``backgrounds`` pictures, so
            one panel's new state reuses the other panels' kept pixels; a full draw happens only
            when some region's key is not kept. (Not with ``on_top``.)

    Usage::

        redraw = FastRedraw(fig, moving=[cursor_line, ax.title])
        def draw(data, values):                  # an App's draw function
            cursor_line.set_data(...)            # change only the moving artists ...
            return redraw.png(static_key=values["n"])   # ... unless static_key changes

    ``png(static_key)`` redraws in full when no kept background has this ``static_key`` (change
    it whenever anything that is not in ``moving`` changed: data of other lines, axis limits,
    labels) or when the figure's size or dpi changed.
    """

    def __init__(self, fig, moving, compress_level: int = 1, backgrounds: int = 1, on_top=(), regions=None):
        from matplotlib.artist import Artist

        if not isinstance(fig, Figure):
            raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
        moving = list(moving)
        if not moving:
            raise ValueError("moving must name at least one artist (the ones that change between frames)")
        for artist in moving:
            if not isinstance(artist, Artist):
                raise TypeError(f"moving artists must be matplotlib Artists, got {type(artist).__name__}")
            if artist.figure is not fig:
                raise ValueError(f"moving artist {artist!r} does not belong to this figure")
        if isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9:
            raise ValueError(f"compress_level must be an integer 0..9, got {compress_level!r}")
        if isinstance(backgrounds, bool) or not isinstance(backgrounds, int) or backgrounds < 1:
            raise ValueError(f"backgrounds must be a positive integer, got {backgrounds!r}")
        if not isinstance(fig.canvas, FigureCanvasAgg) or type(fig.canvas) is FigureCanvasAgg:
            _StampCanvasAgg(fig)  # texts rasterised once (see _StampRendererAgg)
        self.fig = fig
        self.moving = moving
        self.on_top = list(on_top)
        for artist in self.on_top:
            if not isinstance(artist, Artist) or artist.figure is not fig or artist in moving:
                raise ValueError(f"on_top artists must be static artists of this figure, got {artist!r}")
        self.regions = None if regions is None else [tuple(float(v) for v in r) for r in regions]
        if self.regions is not None and (not self.regions or self.on_top
                                         or any(len(r) != 4 or not (0 <= r[0] < r[2] <= 1 and 0 <= r[1] < r[3] <= 1)
                                                for r in self.regions)):
            raise ValueError(f"regions must be non-empty (x0, y0, x1, y1) figure fractions, without on_top; got {regions!r}")
        self._region_backgrounds: list[dict] = [{} for _ in self.regions or ()]
        self.compress_level = compress_level
        self.max_backgrounds = backgrounds
        self._backgrounds: dict = {}  # (static_key, size) -> (saved pixels, on_top boxes), most recently used last
        self.n_full = 0  #: how many frames were drawn in full (the others were blitted)
        for artist in moving:
            artist.set_animated(True)  # a full draw leaves them out

    def _region_keys(self, static_key) -> list:
        if not isinstance(static_key, tuple) or len(static_key) != len(self.regions):
            raise ValueError(f"with regions, static_key must be a tuple of {len(self.regions)} keys, got {static_key!r}")
        size = (self.fig.bbox.width, self.fig.bbox.height)
        return [(key, size) for key in static_key]

    def _restore_regions(self, static_key) -> None:
        """Put each region's background for its key on the canvas; draw in full if one is not kept."""
        canvas, keys = self.fig.canvas, self._region_keys(static_key)
        kept = [kept_pixels.get(key) for kept_pixels, key in zip(self._region_backgrounds, keys)]
        if any(pixels is None for pixels in kept):
            canvas.draw()
            w, h = self.fig.bbox.width, self.fig.bbox.height
            kept = [canvas.copy_from_bbox(Bbox.from_extents(x0 * w, y0 * h, x1 * w, y1 * h))
                    for x0, y0, x1, y1 in self.regions]
            self.n_full += 1
        else:
            for pixels in kept:
                canvas.restore_region(pixels)
        for kept_pixels, key, pixels in zip(self._region_backgrounds, keys, kept):
            kept_pixels.pop(key, None)
            kept_pixels[key] = pixels
            while len(kept_pixels) > self.max_backgrounds:
                kept_pixels.pop(next(iter(kept_pixels)))
        self._on_top = (None, [])

    def _restore(self, static_key) -> None:
        """Put the background for ``static_key`` on the canvas, drawing it in full if not kept."""
        if self.regions is not None:
            return self._restore_regions(static_key)
        canvas = self.fig.canvas
        key = (static_key, (self.fig.bbox.width, self.fig.bbox.height))
        try:
            background = self._backgrounds.pop(key)
        except (KeyError, TypeError):  # not kept (or an unhashable key: then never kept)
            background = None
        if background is None:
            canvas.draw()
            renderer = canvas.get_renderer()
            boxes = [Bbox.intersection(artist.get_window_extent(renderer).padded(1), self.fig.bbox)
                     for artist in self.on_top if artist.get_visible()]
            boxes = [box for box in boxes if box is not None]
            background = (canvas.copy_from_bbox(self.fig.bbox), boxes)
            self.n_full += 1
        else:
            canvas.restore_region(background[0])
        self._on_top = background
        try:
            self._backgrounds[key] = background
        except TypeError:
            return
        while len(self._backgrounds) > self.max_backgrounds:
            self._backgrounds.pop(next(iter(self._backgrounds)))

    def has_background(self, static_key) -> bool:
        """Whether a background for ``static_key`` (at the figure's current size) is kept."""
        if self.regions is not None:
            return all(key in kept for kept, key in zip(self._region_backgrounds, self._region_keys(static_key)))
        try:
            return (static_key, (self.fig.bbox.width, self.fig.bbox.height)) in self._backgrounds
        except TypeError:
            return False

    def prepare(self, static_key) -> None:
        """Draw and keep the background for ``static_key`` now (set the static artists for it first)."""
        self._restore(static_key)

    def png(self, static_key=None) -> bytes:
        """PNG bytes of the figure as it is now.

        Args:
            static_key: any value comparable with ``==`` (hashable to be kept among several
                backgrounds); a full redraw happens when no kept background has this key.
        """
        self._restore(static_key)
        renderer = self.fig.canvas.get_renderer()
        for artist in self.moving:
            if artist.get_visible():
                artist.draw(renderer)
        pixels, boxes = self._on_top
        height = self.fig.bbox.height
        for box in boxes:  # the on_top artists, copied back over the moving ones (Agg's region rows run top-down)
            self.fig.canvas.restore_region(pixels, bbox=(box.x0, height - box.y1, box.x1, height - box.y0), xy=(0, 0))
        return _canvas_png(self.fig.canvas, self.compress_level)


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------
def _is_xy_pair(value) -> bool:
    """True for an ``(x, y)`` tuple of two sequences, False for a plain sequence of numbers."""
    return isinstance(value, tuple) and len(value) == 2 and all(np.ndim(part) == 1 for part in value)


def plot_curves(curves, ax=None, xlabel: str = "epoch", ylabel: str = "loss", title: str | None = None,
                logy: bool = False, markers: bool = False):
    """Draw one line per named curve, e.g. training and validation losses.

    Args:
        curves: a dict ``label -> values``; ``values`` is a 1-D sequence (list, array or
            tensor) drawn against 0, 1, 2, ..., or an ``(x, y)`` tuple of two equally long
            1-D sequences. A single sequence without a label is also accepted.
        ax: the axes to draw into; ``None`` makes a new figure.
        xlabel, ylabel, title: axis labels and an optional title.
        logy: use a logarithmic y axis (zero or negative values are then not drawn).
        markers: also draw a dot at every point.
    Returns:
        The ``Axes``, with a legend when curves have labels.
    """
    if not isinstance(curves, Mapping):
        if isinstance(curves, (str, bytes)) or not hasattr(curves, "__len__"):
            raise TypeError(
                f"curves must be a dict label -> values or a sequence of numbers, got {type(curves).__name__}"
            )
        curves = {None: curves}
    if len(curves) == 0:
        raise ValueError("curves is empty: pass at least one curve, e.g. {'train': losses}")
    ax = _check_ax(ax)
    for label, values in curves.items():
        name = "curve" if label is None else f"curve {label!r}"
        if _is_xy_pair(values):
            x = _to_1d(values[0], f"the x values of {name}")
            y = _to_1d(values[1], f"the y values of {name}")
            if len(x) != len(y):
                raise ValueError(f"{name} has {len(x)} x values but {len(y)} y values")
        else:
            y = _to_1d(values, name)
            x = np.arange(len(y))
        ax.plot(x, y, label=None if label is None else str(label), marker="o" if markers else None)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if any(label is not None for label in curves):
        ax.legend()
    return ax


def plot_layer_norms(norms, ax=None, title: str | None = "Gradient norm per layer", logy: bool = True,
                     xlabel: str = "layer", ylabel: str = "gradient norm"):
    """Draw a value per layer (e.g. a gradient norm) for one or several networks.

    Args:
        norms: a dict ``label -> per-layer values`` (e.g. one entry per activation function),
            or a single sequence. Values are in layer order; layer 1 is the layer nearest
            the input.
        ax: the axes to draw into; ``None`` makes a new figure.
        title, xlabel, ylabel: title and axis labels.
        logy: use a logarithmic y axis (the default: norms often span many orders of magnitude).
    Returns:
        The ``Axes``: layer number (1, 2, ...) on x, one line with dots per entry, and a legend
        when entries have labels.
    """
    if not isinstance(norms, Mapping):
        norms = {None: norms}
    if len(norms) == 0:
        raise ValueError("norms is empty: pass at least one sequence of per-layer values")
    curves = {}
    for label, values in norms.items():
        y = _to_1d(values, "norms" if label is None else f"norms[{label!r}]")
        curves[label] = (np.arange(1, len(y) + 1), y)
    ax = plot_curves(curves, ax=ax, xlabel=xlabel, ylabel=ylabel, title=title, logy=logy, markers=True)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------
def _images_to_numpy(images) -> np.ndarray:
    """(N, H, W), (N, 1, H, W) or (N, 3, H, W) -> (N, H, W) or (N, H, W, 3) float array."""
    array = _to_numpy(images, "images")
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 4 and array.shape[1] == 3:
        array = array.transpose(0, 2, 3, 1)
    elif array.ndim != 3:
        raise ValueError(
            f"images must have shape (N, H, W), (N, 1, H, W) or (N, 3, H, W), got {array.shape}"
        )
    if len(array) == 0:
        raise ValueError("images is empty: pass at least one image")
    return array


def _labels_list(values, n: int, name: str) -> list:
    if hasattr(values, "detach"):
        values = values.detach().cpu().tolist()
    elif isinstance(values, np.ndarray):
        values = values.tolist()
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name} must have one entry per image ({n}), got {len(values)}")
    return values


def show_images(images, labels=None, predictions=None, ncols: int = 10, cmap: str = "gray",
                title: str | None = None, max_images: int = 50):
    """Show a grid of images with their labels; wrong predictions stand out.

    Args:
        images: a tensor or array of shape ``(N, H, W)``, ``(N, 1, H, W)`` (grey) or
            ``(N, 3, H, W)`` (RGB). Values in ``[0, 1]`` are shown as they are; other ranges
            are rescaled to the smallest and largest value shown.
        labels: optional true label of each image (``N`` numbers or strings), shown above it.
        predictions: optional predicted label of each image. With ``labels``, a wrong
            prediction is titled ``"pred (true label)"`` in bold vermillion with a vermillion
            frame; a right one shows just the label.
        ncols: images per row, a positive integer.
        cmap: colour map for grey images.
        title: optional title above the grid.
        max_images: show at most the first this many images.
    Returns:
        The ``Figure``.
    """
    array = _images_to_numpy(images)
    ncols = _check_positive_int("ncols", ncols)
    max_images = _check_positive_int("max_images", max_images)
    n_total = len(array)
    if labels is not None:
        labels = _labels_list(labels, n_total, "labels")
    if predictions is not None:
        predictions = _labels_list(predictions, n_total, "predictions")

    n = min(n_total, max_images)
    shown = array[:n]
    low, high = float(shown.min()), float(shown.max())
    if low < 0.0 or high > 1.0:  # not in [0, 1]: use the common range of the shown images
        shown = (shown - low) / max(high - low, 1e-12)

    cols = min(ncols, n)
    rows = math.ceil(n / cols)
    fig, axes = new_figure(rows, cols, width=1.3 * cols, height=1.4 * rows + (0.4 if title else 0.0), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i >= n:
            ax.set_axis_off()
            continue
        ax.imshow(shown[i], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        wrong = labels is not None and predictions is not None and predictions[i] != labels[i]
        if wrong:
            ax.set_title(f"{predictions[i]} (true {labels[i]})", fontsize=8,
                         color=COLOR["vermillion"], fontweight="bold")
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color(COLOR["vermillion"])
                spine.set_linewidth(2.5)
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
        elif predictions is not None:
            ax.set_title(f"pred {predictions[i]}", fontsize=9)
    if title is not None:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------------------------
# Decision boundaries
# --------------------------------------------------------------------------------------------
def _predicted_classes(output, m: int) -> np.ndarray:
    """Class indices (M,) from a predict_fn output: indices (M,), P(class 1) (M,) or (M, 1), or scores (M, K)."""
    if hasattr(output, "detach"):
        output = output.detach().cpu().numpy()
    output = np.asarray(output)
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    if output.shape[0:1] != (m,) or output.ndim not in (1, 2):
        raise ValueError(
            f"predict_fn must return class indices (M,), probabilities of class 1 (M,) or class "
            f"scores (M, K) for M={m} input points, got shape {output.shape}"
        )
    if output.ndim == 2:
        return output.argmax(axis=1)
    if np.issubdtype(output.dtype, np.integer) or output.dtype == bool:
        return output.astype(np.int64)
    if output.min() < 0.0 or output.max() > 1.0:
        raise ValueError(
            "predict_fn returned one float per point outside [0, 1]; return class indices "
            "(e.g. logits.argmax(dim=1)) or probabilities (e.g. torch.sigmoid(logit))"
        )
    return (output > 0.5).astype(np.int64)


def plot_decision_boundary(predict_fn: Callable, X, y, ax=None, resolution: int = 200, padding: float = 0.5):
    """Colour the plane by a classifier's prediction and draw the data on top.

    Args:
        predict_fn: a function from a float32 tensor of points ``(M, 2)`` to predictions:
            class indices ``(M,)``, probabilities of class 1 ``(M,)`` or ``(M, 1)``, or class
            scores / probabilities ``(M, K)`` (the largest wins). It is called once, under
            ``torch.no_grad()``, with a CPU tensor.
        X: the data points, shape ``(n, 2)``.
        y: their integer classes, shape ``(n,)``.
        ax: the axes to draw into; ``None`` makes a new figure.
        resolution: grid points per axis (the function sees ``resolution ** 2`` points).
        padding: margin around the data, in data units.
    Returns:
        The ``Axes``: background regions in the class colours, points coloured by true class,
        a legend naming the classes.
    """
    import torch

    points = _to_numpy(X, "X")
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"X must have shape (n, 2), got {points.shape}")
    classes = _to_numpy(y, "y")
    if classes.shape != (len(points),):
        raise ValueError(f"y must have shape ({len(points)},) to match X, got {classes.shape}")
    if np.any(classes != np.round(classes)) or classes.min() < 0:
        raise ValueError("y must hold non-negative integer class labels")
    classes = classes.astype(np.int64)
    resolution = _check_positive_int("resolution", resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    if not callable(predict_fn):
        raise TypeError(f"predict_fn must be callable, got {type(predict_fn).__name__}")
    ax = _check_ax(ax)

    (x_min, y_min), (x_max, y_max) = points.min(axis=0) - padding, points.max(axis=0) + padding
    grid_x, grid_y = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    grid = torch.tensor(np.stack([grid_x.ravel(), grid_y.ravel()], axis=1), dtype=torch.float32)
    with torch.no_grad():
        predicted = _predicted_classes(predict_fn(grid), len(grid)).reshape(grid_x.shape)

    num_classes = int(max(classes.max(), predicted.max())) + 1
    colors = [COLORS[k % len(COLORS)] for k in range(num_classes)]
    ax.contourf(grid_x, grid_y, predicted, levels=np.arange(num_classes + 1) - 0.5, colors=colors, alpha=0.25)
    for k in range(num_classes):
        mask = classes == k
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=18, color=colors[k], edgecolor="white",
                       linewidth=0.5, label=f"class {k}")
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="best")
    return ax
