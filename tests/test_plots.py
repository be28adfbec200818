"""Tests for course_utils.plots: the style, what each helper draws, and its error messages."""
import matplotlib

matplotlib.use("Agg")

import base64
import struct

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from course_utils import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


@pytest.fixture(autouse=True)
def clean_matplotlib(monkeypatch):
    """Restore rcParams and close figures after each test; fail if a helper calls plt.show()."""

    def no_show(*args, **kwargs):
        raise AssertionError("library helpers must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    with matplotlib.rc_context():
        yield
    plt.close("all")


def _cycle():
    return [to_hex(c).upper() for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]


# --------------------------------------------------------------------------------------------
# style and colours
# --------------------------------------------------------------------------------------------
def test_colors_are_okabe_ito():
    assert plots.COLORS == OKABE_ITO
    assert list(plots.COLOR.values()) == plots.COLORS
    assert plots.COLOR["vermillion"] == "#D55E00"


def test_use_style_sets_cycle_and_is_idempotent():
    assert plots.STYLE_PATH.is_file()
    plots.use_style()
    assert _cycle() == OKABE_ITO
    assert plt.rcParams["image.cmap"] == "viridis"
    assert plt.rcParams["axes.spines.top"] is False and plt.rcParams["axes.spines.right"] is False
    assert plt.rcParams["figure.constrained_layout.use"] is True
    assert plt.rcParams["axes.grid"] is True
    once = dict(plt.rcParams)
    plots.use_style()
    assert dict(plt.rcParams) == once


def test_style_context_is_temporary():
    plt.style.use("default")
    with plots.style_context():
        assert _cycle() == OKABE_ITO
        fig, ax = plots.new_figure()
        (line,) = ax.plot([0, 1], [0, 1])
        assert to_hex(line.get_color()).upper() == OKABE_ITO[0]
    assert _cycle() != OKABE_ITO


# --------------------------------------------------------------------------------------------
# new_figure and figure_to_png
# --------------------------------------------------------------------------------------------
def test_new_figure_shapes_and_sizes():
    fig, ax = plots.new_figure()
    assert isinstance(fig, Figure) and isinstance(ax, matplotlib.axes.Axes)
    fig2, axes = plots.new_figure(2, 3)
    assert axes.shape == (2, 3)
    assert fig2.get_figwidth() > fig.get_figwidth() and fig2.get_figheight() > fig.get_figheight()
    fig3, _ = plots.new_figure(width=3, height=2)
    assert tuple(fig3.get_size_inches()) == (3, 2)
    with pytest.raises(ValueError, match="nrows must be a positive integer"):
        plots.new_figure(0)
    with pytest.raises(ValueError, match="width"):
        plots.new_figure(width=-1)


def _png_size(png):
    return struct.unpack(">II", png[16:24])  # width, height from the IHDR chunk


def test_figure_to_png():
    fig, ax = plots.new_figure(width=4, height=3)
    ax.plot([1, 2, 3])
    png = plots.figure_to_png(fig, dpi=50)
    assert isinstance(png, bytes) and png.startswith(PNG_SIGNATURE)
    assert _png_size(png) == (200, 150)
    assert _png_size(plots.figure_to_png(ax, dpi=100)) == (400, 300)  # an Axes works too
    with pytest.raises(TypeError, match="Figure"):
        plots.figure_to_png("not a figure")


# --------------------------------------------------------------------------------------------
# curves
# --------------------------------------------------------------------------------------------
def test_plot_curves_draws_every_kind_of_input():
    plots.use_style()
    losses = torch.tensor([1.0, 0.5, 0.25], requires_grad=True) * 1  # still attached to a graph
    curves = {
        "list": [3.0, 2.0, 1.0],
        "numpy": np.array([2.0, 1.5, 1.0, 0.5]),
        "tensor": losses,
        "xy": ([0, 5, 10], [4.0, 3.0, 2.0]),
        "list of tensors": [torch.tensor(1.0), torch.tensor(0.5)],
    }
    ax = plots.plot_curves(curves, title="Loss", logy=True)
    lines = ax.get_lines()
    assert len(lines) == 5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(curves)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss" and ax.get_title() == "Loss"
    assert ax.get_yscale() == "log"
    assert list(lines[0].get_xdata()) == [0, 1, 2]
    assert list(lines[3].get_xdata()) == [0, 5, 10]
    assert np.allclose(lines[2].get_ydata(), [1.0, 0.5, 0.25])
    assert [to_hex(line.get_color()).upper() for line in lines] == OKABE_ITO[:5]


def test_plot_curves_into_given_axes_and_single_sequence():
    fig, axes = plots.new_figure(1, 2)
    ax = plots.plot_curves([0.9, 0.8], ax=axes[1], xlabel="step", ylabel="accuracy", markers=True)
    assert ax is axes[1]
    assert len(axes[0].get_lines()) == 0 and len(ax.get_lines()) == 1
    assert ax.get_legend() is None  # nothing to name
    assert ax.get_lines()[0].get_marker() == "o"
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "accuracy"


@pytest.mark.parametrize(
    "curves,error,message",
    [
        ({}, ValueError, "empty"),
        ({"a": [[1, 2], [3, 4]]}, ValueError, "1-D"),
        ({"a": []}, ValueError, "non-empty"),
        ({"a": ([1, 2, 3], [1, 2])}, ValueError, "3 x values but 2 y values"),
        (5, TypeError, "dict"),
        ({"a": ["x", "y"]}, TypeError, "numbers"),
    ],
)
def test_plot_curves_rejects_bad_input(curves, error, message):
    with pytest.raises(error, match=message):
        plots.plot_curves(curves)


def test_plot_layer_norms():
    norms = {"sigmoid": [1e-6, 1e-4, 1e-2, 1.0], "relu": np.ones(4), "tanh": torch.tensor([0.1, 0.2, 0.3, 0.4])}
    ax = plots.plot_layer_norms(norms)
    lines = ax.get_lines()
    assert len(lines) == 3
    assert list(lines[0].get_xdata()) == [1, 2, 3, 4]  # layers are numbered from 1
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "layer" and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid", "relu", "tanh"]

    single = plots.plot_layer_norms([3.0, 2.0, 1.0], logy=False)
    assert len(single.get_lines()) == 1 and single.get_yscale() == "linear"
    with pytest.raises(ValueError, match="empty"):
        plots.plot_layer_norms({})
    with pytest.raises(ValueError, match="1-D"):
        plots.plot_layer_norms({"a": np.ones((2, 2))})


# --------------------------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------------------------
def _images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_show_images_grid_and_titles():
    images = torch.rand(12, 1, 8, 8)
    fig = plots.show_images(images, labels=torch.arange(12) % 10, ncols=5, title="Digits")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 15  # 3 rows of 5; the last 3 panels stay empty
    assert len(_images(fig)) == 12
    assert _images(fig)[0].get_array().shape == (8, 8)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0", "1", "2"]
    assert fig._suptitle.get_text() == "Digits"


def test_show_images_highlights_wrong_predictions():
    labels = [0, 1, 2, 3, 4, 5]
    predictions = [0, 1, 7, 3, 9, 5]  # two mistakes
    fig = plots.show_images(np.random.rand(6, 8, 8), labels=labels, predictions=predictions)
    vermillion = [ax for ax in fig.axes if to_hex(ax.title.get_color()).upper() == plots.COLOR["vermillion"]]
    assert [ax.get_title() for ax in vermillion] == ["7 (true 2)", "9 (true 4)"]
    assert fig.axes[0].get_title() == "0"


def test_show_images_rgb_range_and_cap():
    images = torch.randn(60, 3, 5, 6) * 3  # not in [0, 1]: rescaled for display
    fig = plots.show_images(images, max_images=20)
    shown = _images(fig)
    assert len(shown) == 20
    pixels = shown[0].get_array()
    assert pixels.shape == (5, 6, 3)
    assert pixels.min() >= 0 and pixels.max() <= 1


@pytest.mark.parametrize(
    "images,kwargs,message",
    [
        (np.zeros((4, 2, 8, 8)), {}, r"\(N, H, W\), \(N, 1, H, W\) or \(N, 3, H, W\)"),
        (np.zeros((8, 8)), {}, "images must have shape"),
        (np.zeros((0, 8, 8)), {}, "empty"),
        (np.zeros((4, 8, 8)), {"labels": [1, 2]}, "one entry per image"),
        (np.zeros((4, 8, 8)), {"ncols": 0}, "ncols"),
    ],
)
def test_show_images_rejects_bad_input(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.show_images(images, **kwargs)


# --------------------------------------------------------------------------------------------
# decision boundaries
# --------------------------------------------------------------------------------------------
def _two_blobs():
    X = torch.tensor([[-1.0, 0.0], [-1.5, 0.5], [1.0, 0.0], [1.5, -0.5]])
    y = torch.tensor([0, 0, 1, 1])
    return X, y


def test_decision_boundary_with_class_indices():
    X, y = _two_blobs()
    seen = {}

    def predict(points):
        seen["points"] = points
        return (points[:, 0] > 0).long()

    ax = plots.plot_decision_boundary(predict, X, y, resolution=50)
    assert seen["points"].shape == (2500, 2) and seen["points"].dtype == torch.float32
    assert ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    assert len(ax.collections) >= 3  # the filled regions + one scatter per class
    left, right = ax.get_xlim()
    assert left == pytest.approx(-2.0) and right == pytest.approx(2.0)  # data range + padding 0.5


def test_decision_boundary_with_probabilities_and_scores():
    X, y = _two_blobs()
    ax = plots.plot_decision_boundary(lambda p: torch.sigmoid(p[:, :1] * 5), X, y, resolution=20)
    assert len(ax.get_legend().get_texts()) == 2
    X3 = torch.cat([X, torch.tensor([[0.0, 2.0]])])
    y3 = torch.cat([y, torch.tensor([2])])
    scores = lambda p: torch.stack([-p[:, 0], p[:, 0], p[:, 1] - 1], dim=1)  # noqa: E731
    ax = plots.plot_decision_boundary(scores, X3, y3, resolution=20)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]


def test_decision_boundary_rejects_bad_input():
    X, y = _two_blobs()
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        plots.plot_decision_boundary(lambda p: p[:, 0] > 0, torch.zeros(4, 3), y)
    with pytest.raises(ValueError, match="y must have shape"):
        plots.plot_decision_boundary(lambda p: p[:, 0] > 0, X, y[:3])
    with pytest.raises(ValueError, match="predict_fn must return"):
        plots.plot_decision_boundary(lambda p: p[:10, 0] > 0, X, y, resolution=10)
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        plots.plot_decision_boundary(lambda p: p[:, 0] * 10, X, y, resolution=10)


# --- FastRedraw ------------------------------------------------------------------------------
def _decode(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _two_panel():
    fig = Figure(figsize=(5, 2.5), dpi=60, layout="none")
    ax_a, ax_b = fig.subplots(1, 2)
    ax_a.plot([0, 1], [0, 1], "k--")
    moving, = ax_a.plot([0, 1], [1, 0], color="C1", lw=3)
    ax_b.semilogy([1, 2, 3], [1, 10, 100])
    ax_a.set_title("frame 0")
    return fig, ax_a, ax_b, moving


def test_fast_redraw_matches_a_full_render():
    fig, ax_a, _, moving = _two_panel()
    redraw = plots.FastRedraw(fig, moving=[moving, ax_a.title])
    for k in range(3):
        moving.set_ydata([1 - 0.3 * k, 0.3 * k])
        ax_a.set_title(f"frame {k}")
        png = redraw.png(static_key="same")
        assert png.startswith(PNG_SIGNATURE)
    assert redraw.n_full == 1  # one full draw, then blitted frames
    fast = _decode(png)
    for artist in (moving, ax_a.title):
        artist.set_animated(False)
    full = _decode(plots.figure_to_png(fig))
    assert fast.shape == full.shape
    assert (np.abs(fast - full).sum(axis=-1) > 30).mean() < 0.01  # same picture up to anti-aliasing


def test_fast_redraw_redraws_everything_when_the_static_key_changes():
    fig, ax_a, ax_b, moving = _two_panel()
    redraw = plots.FastRedraw(fig, moving=[moving])
    before = _decode(redraw.png(static_key=1))
    ax_b.set_ylim(1, 1e4)  # not a moving artist: only shows with a new key
    same_key = _decode(redraw.png(static_key=1))
    assert np.array_equal(before, same_key) and redraw.n_full == 1
    new_key = _decode(redraw.png(static_key=2))
    assert not np.array_equal(before, new_key) and redraw.n_full == 2


def test_fast_redraw_rejects_bad_arguments():
    fig, ax_a, _, moving = _two_panel()
    other = Figure()
    stranger, = other.subplots().plot([0, 1])
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plots.FastRedraw(ax_a, moving=[moving])
    with pytest.raises(ValueError, match="at least one artist"):
        plots.FastRedraw(fig, moving=[])
    with pytest.raises(TypeError, match="must be matplotlib Artists"):
        plots.FastRedraw(fig, moving=["line"])
    with pytest.raises(ValueError, match="does not belong to this figure"):
        plots.FastRedraw(fig, moving=[stranger])
    with pytest.raises(ValueError, match="compress_level"):
        plots.FastRedraw(fig, moving=[moving], compress_level=12)


def test_fast_redraw_rasterises_each_text_once_and_draws_it_where_matplotlib_would():
    fig, ax_a, _, moving = _two_panel()
    redraw = plots.FastRedraw(fig, moving=[moving, ax_a.yaxis, ax_a.title])
    assert isinstance(fig.canvas.get_renderer(), plots._StampRendererAgg)
    plots._TEXT_STAMPS.clear()
    ax_a.set_ylim(0, 1)
    first = redraw.png()
    n_stamps = len(plots._TEXT_STAMPS)
    assert n_stamps > 5  # tick labels and titles were rasterised ...
    ax_a.set_ylim(-1, 2)
    redraw.png()
    ax_a.set_ylim(0, 1)
    again = redraw.png()
    assert np.array_equal(_decode(first), _decode(again))  # ... and blending them from the cache gives the same picture
    assert len(plots._TEXT_STAMPS) > n_stamps  # the new limits' labels were added
    for artist in redraw.moving:
        artist.set_animated(False)
    plain = _decode(plots.figure_to_png(fig))  # matplotlib's own text rendering (subpixel places)
    assert (np.abs(_decode(again) - plain).sum(axis=-1) > 120).mean() < 0.01


def test_fast_redraw_keeps_on_top_artists_above_the_moving_ones():
    fig, ax_a, _, moving = _two_panel()
    legend = ax_a.legend([moving], ["a"], loc="center", frameon=True, framealpha=1.0, handlelength=1)
    redraw = plots.FastRedraw(fig, moving=[moving], on_top=[legend])
    moving.set_ydata([0, 1])  # diagonally through the legend
    with_line = _decode(redraw.png())
    moving.set_visible(False)
    without = _decode(redraw.png())
    box = legend.get_window_extent(fig.canvas.get_renderer())
    height = with_line.shape[0]
    rows = slice(int(height - box.y1) + 2, int(height - box.y0) - 2)
    cols = slice(int(box.x0) + 2, int(box.x1) - 2)
    assert np.array_equal(with_line[rows, cols], without[rows, cols])  # the line is hidden under the legend
    assert not np.array_equal(with_line, without)  # but drawn elsewhere
    with pytest.raises(ValueError, match="static artists"):
        plots.FastRedraw(fig, moving=[moving], on_top=[moving])


def test_fast_redraw_regions_keep_each_panels_background_apart():
    fig, ax_a, ax_b, moving = _two_panel()
    redraw = plots.FastRedraw(fig, moving=[moving], backgrounds=3, regions=[(0, 0, 0.5, 1), (0.5, 0, 1, 1)])
    pictures = {}
    for a_lim, b_lim in ((1, 1e3), (2, 1e3), (2, 1e4), (1, 1e4)):
        ax_a.set_ylim(0, a_lim)
        ax_b.set_ylim(1, b_lim)
        pictures[a_lim, b_lim] = _decode(redraw.png(static_key=(a_lim, b_lim)))
    assert redraw.n_full == 3  # (1, 1e4) is put together from two kept halves
    assert redraw.has_background((1, 1e4)) and not redraw.has_background((3, 1e4))
    for artist in redraw.moving:
        artist.set_animated(False)
    full = _decode(plots.figure_to_png(fig))
    assert (np.abs(pictures[1, 1e4] - full).sum(axis=-1) > 120).mean() < 0.01
    with pytest.raises(ValueError, match="tuple of 2 keys"):
        redraw.png(static_key=1)
    with pytest.raises(ValueError, match="regions must be"):
        plots.FastRedraw(fig, moving=[moving], regions=[(0, 0, 2, 1)])


def test_single_pass_rendering_needs_an_inline_ipython():
    assert plots._single_pass_inline_figures() is False  # plain Python: nothing to configure


def test_figures_not_drawn_needs_an_ipython():
    assert plots._figures_not_drawn() is False  # plain Python: no display formatters to change


@pytest.mark.slow
def test_use_style_draws_no_figure_while_grading_and_one_pass_figures_in_fast_mode(monkeypatch):
    """Under nbgrader a figure is shown as a one-line note (nothing rendered); in fast mode its PNG
    is not cropped to a tight bounding box (one render pass); in full mode it is cropped."""
    import nbformat
    from nbclient import NotebookClient

    setup = "%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom course_utils.plots import use_style\nuse_style()"
    # lots of white space around a small axes: a tight bounding box crops it
    figure = 'fig = plt.figure(figsize=(4, 4), layout="none"); fig.add_axes([0.4, 0.4, 0.2, 0.2]); plt.show()'
    # a figure never shown explicitly: the inline backend shows it at the end of the cell
    implicit = "fig, ax = plt.subplots()\n_ = ax.plot([0, 1])"
    outputs = {}
    for mode in ("autograde", "validate", "fast", "full"):
        for name in ("NBGRADER_EXECUTION", "COURSE_FAST"):
            monkeypatch.delenv(name, raising=False)
        if mode in ("autograde", "validate"):
            monkeypatch.setenv("NBGRADER_EXECUTION", mode)
        monkeypatch.setenv("COURSE_FAST", "1" if mode == "fast" else "0")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (setup, figure, implicit)])
        NotebookClient(nb, kernel_name="python3", timeout=120).execute()
        outputs[mode] = [cell.outputs for cell in nb.cells[1:]]
    for mode in ("autograde", "validate"):
        for cell_outputs in outputs[mode]:
            assert [o["output_type"] for o in cell_outputs] == ["display_data"]
            assert cell_outputs[0]["data"] == {"text/plain": plots.NOT_DRAWN}
    widths = {}
    for mode in ("fast", "full"):
        for cell_outputs in outputs[mode]:
            assert "image/png" in cell_outputs[0]["data"]
        png = base64.b64decode(outputs[mode][0][0]["data"]["image/png"])
        widths[mode] = struct.unpack(">I", png[16:20])[0]
    assert widths["fast"] == 400  # 4 in x 100 dpi, uncropped
    assert widths["full"] < 300   # cropped to the small axes and its labels
