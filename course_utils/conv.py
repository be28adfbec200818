"""Convolution arithmetic made visible: the convolution explorer, receptive fields, LeNet.

What the convolution lesson (04) needs beyond plain torch:

- :func:`conv_arithmetic` -- the output size ``(W1 - F_eff + 2P) / S + 1`` of one spatial axis,
  with the exact (possibly fractional) value and a sentence saying whether the setting is valid;
- :func:`conv_explorer` -- an :class:`~course_utils.widgets.App` with sliders for input size,
  kernel, padding, stride and dilation (their bounds depend on each other), a play control that
  steps the kernel over every position, and a picture of the padded input, the kernel's current
  footprint and the output cell it produces;
- :func:`receptive_field_layout` / :func:`draw_receptive_field` -- which input pixels one unit of a
  stack of layers sees, computed and drawn;
- :func:`make_lenet`, :func:`count_parameters`, :func:`layer_table` -- a LeNet-style network for
  small digit images, and a per-layer table of output shapes and parameter counts;
- :func:`translate` -- shift images by whole pixels (zero fill), for equivariance experiments.

Conventions: images are channels-first ``(N, C, H, W)`` like torch; "convolution" means what
deep-learning libraries compute, which is *cross-correlation* (the kernel is not flipped)::

    from course_utils.conv import conv_explorer, draw_receptive_field, make_lenet
    conv_explorer()                              # last line of a cell: shows the app
    draw_receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)])
    net = make_lenet(image_size=16)              # (N, 1, 16, 16) -> (N, 10) logits
"""
from __future__ import annotations

import math
import textwrap
from collections import OrderedDict
from fractions import Fraction
from typing import NamedTuple, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import to_rgb
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path
from torch import nn

from course_utils.plots import COLOR
from course_utils.reproducibility import fast_mode
from course_utils.widgets import IPYWIDGETS_MAJOR, App, slider

__all__ = [
    "ConvArithmetic",
    "effective_kernel",
    "conv_arithmetic",
    "kernel_positions",
    "explorer_data",
    "draw_explorer",
    "ExplorerPicture",
    "conv_explorer",
    "receptive_field_layout",
    "draw_receptive_field",
    "make_lenet",
    "count_parameters",
    "layer_table",
    "translate",
]


# --------------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------------
class ConvArithmetic(NamedTuple):
    """The output size of a convolution (or pooling) along one spatial axis.

    Attributes:
        exact: ``(W1 - F_eff + 2P) / S + 1`` as an exact fraction (may be non-integer).
        size: the number of positions that fit, ``floor(exact)`` (what PyTorch uses), >= 0.
        valid: True when the kernel fits into the padded input and ``exact`` is a whole number.
        message: one sentence on the setting: the formula with the numbers filled in and, for an
            invalid setting, what is wrong.
        effective_kernel: ``D (F - 1) + 1``, the span of a dilated kernel.
    """

    exact: Fraction
    size: int
    valid: bool
    message: str
    effective_kernel: int


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def effective_kernel(kernel_size: int, dilation: int = 1) -> int:
    """Span in pixels of a kernel of ``kernel_size`` taps spaced ``dilation`` apart: ``D (F - 1) + 1``."""
    return _positive_int("dilation", dilation) * (_positive_int("kernel_size", kernel_size) - 1) + 1


def conv_arithmetic(size: int, kernel_size: int, padding: int = 0, stride: int = 1,
                    dilation: int = 1) -> ConvArithmetic:
    """Output size along one axis, ``W2 = (W1 - F_eff + 2P) / S + 1``, valid or not.

    Args:
        size: ``W1``, the input size along the axis (>= 1).
        kernel_size: ``F`` (>= 1).
        padding: ``P`` zeros added on *each* side (>= 0).
        stride: ``S`` (>= 1).
        dilation: ``D`` (>= 1); the kernel then spans ``F_eff = D (F - 1) + 1`` pixels.
    Returns:
        A :class:`ConvArithmetic`. Invalid settings (kernel larger than the padded input, or a
        non-integer result) are *described*, not raised: ``valid`` is False and ``message`` says why.
    Raises:
        ValueError: an argument is not an integer in its range.
    """
    W1 = _positive_int("size", size)
    F = _positive_int("kernel_size", kernel_size)
    P = _positive_int("padding", padding, minimum=0)
    S = _positive_int("stride", stride)
    D = _positive_int("dilation", dilation)
    F_eff = D * (F - 1) + 1
    span = W1 + 2 * P - F_eff
    exact = Fraction(span, S) + 1
    kernel = f"F_eff = {D}·({F}−1)+1 = {F_eff}, " if D > 1 else ""
    formula = f"{kernel}W2 = ({W1} − {F_eff} + 2·{P})/{S} + 1 = {span}/{S} + 1"
    if span < 0:
        message = (f"{formula} < 1: the kernel ({F_eff} wide) does not fit into the padded input "
                   f"({W1 + 2 * P} wide). Invalid.")
        return ConvArithmetic(exact, 0, False, message, F_eff)
    size_out = span // S + 1
    if exact.denominator != 1:
        left_over = span % S
        message = (f"{formula} = {float(exact):.3g}: not a whole number, so the kernel does not tile the "
                   f"padded input evenly. PyTorch rounds down to {size_out} and never looks at the last "
                   f"{left_over} column(s): a warning sign (CS231n's strict convention calls it invalid).")
        return ConvArithmetic(exact, size_out, False, message, F_eff)
    return ConvArithmetic(exact, size_out, True, f"{formula} = {size_out}", F_eff)


def kernel_positions(size: int, kernel_size: int, padding: int = 0, stride: int = 1,
                     dilation: int = 1) -> list[int]:
    """Start indices, in padded-input coordinates, of every kernel position along one axis
    (PyTorch's rounding down: only positions that fit)."""
    result = conv_arithmetic(size, kernel_size, padding, stride, dilation)
    return [i * stride for i in range(result.size)]


# --------------------------------------------------------------------------------------------
# The convolution explorer
# --------------------------------------------------------------------------------------------
def explorer_data(W1: int, F: int, P: int, S: int, D: int = 1, step: int = 0) -> dict:
    """Everything the explorer draws for one setting (a square input, a square kernel).

    Args:
        W1, F, P, S, D: input size, kernel size, padding, stride, dilation.
        step: which kernel position to show, counted row by row over the output grid; values
            past the last position wrap around.
    Returns:
        dict with ``arith`` (:class:`ConvArithmetic`), ``W2`` (output size, PyTorch rounding),
        ``n_steps`` (= ``W2 ** 2``), ``row``, ``col`` (the output cell; None if no position
        fits), ``taps`` (list of ``(r, c)`` padded-input cells the kernel reads there),
        ``used`` (bool array over the padded input: cells some position reads).
    """
    arith = conv_arithmetic(W1, F, P, S, D)
    W2 = arith.size
    Wp = W1 + 2 * P
    used = np.zeros((Wp, Wp), dtype=bool)
    starts = kernel_positions(W1, F, P, S, D) if W2 else []
    offsets = [k * D for k in range(F)]
    for r0 in starts:
        for c0 in starts:
            for dr in offsets:
                used[r0 + dr, [c0 + dc for dc in offsets]] = True
    n_steps = W2 * W2
    row = col = None
    taps: list[tuple[int, int]] = []
    if n_steps:
        step = int(step) % n_steps
        row, col = divmod(step, W2)
        taps = [(row * S + dr, col * S + dc) for dr in offsets for dc in offsets]
    return {"arith": arith, "W1": W1, "Wp": Wp, "W2": W2, "n_steps": n_steps, "step": step if n_steps else 0,
            "row": row, "col": col, "taps": taps, "used": used}


def _grid_segments(n: int) -> list:
    """Line segments between the cells of an n x n grid of unit cells centred on 0..n-1."""
    edges = np.arange(-0.5, n, 1)
    return ([[(e, -0.5), (e, n - 0.5)] for e in edges] + [[(-0.5, e), (n - 0.5, e)] for e in edges])


class ExplorerPicture:
    """The explorer's picture, drawn into one persistent figure (the padded input with the kernel's
    footprint, and the output grid) for :func:`explorer_data`'s dicts.

    Each panel's frame -- axes, ticks, labels -- depends on one size only (the padded input on ``Wp``,
    the output on ``W2``), so the two halves of the figure keep their frames apart
    (:class:`course_utils.plots.FastRedraw` with two regions, ``prepare`` draws every size ahead); the
    cells, grid lines, hatching, footprint, titles and the sentence on top are drawn on them at every
    update. No layout engine: fixed margins keep every label inside the figure.
    """

    #: Where the figure is split between the panels (a figure fraction in the gap between them).
    SPLIT = 0.54

    def __init__(self):
        from matplotlib.figure import Figure

        from course_utils.plots import FastRedraw

        self.fig = Figure(figsize=(10, 5.2), dpi=80, layout="none")
        self.ax_in, self.ax_out = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        self.fig.subplots_adjust(left=0.05, right=0.98, bottom=0.1, top=0.74, wspace=0.12)  # room for 4 lines on top
        for ax in (self.ax_in, self.ax_out):
            ax.grid(False)
            ax.tick_params(which="both", length=0)
            ax.set_aspect("equal")
            ax.set(xlabel="column", ylabel="row")
            # fixed places for the titles and axis labels: matplotlib otherwise measures every tick
            # label on each draw to place them (a tenth of the drawing time)
            ax.set_title(" ", y=1.02)
            ax.xaxis.set_label_coords(0.5, -0.09)
            ax.yaxis.set_label_coords(-0.07, 0.5)
        ax_in = self.ax_in
        self.cells = ax_in.imshow(np.ones((1, 1, 3)), interpolation="nearest", zorder=0)
        # one compound path for all unread cells: Agg sets a hatch up per path, so one path hatches fastest
        self.unread = ax_in.add_patch(PathPatch(Path(np.zeros((1, 2))), facecolor="none", hatch="xx",
                                                edgecolor=COLOR["vermillion"], linewidth=0))
        self.in_grid = ax_in.add_collection(LineCollection([], colors="white", linewidths=1))
        self.padding = ax_in.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=COLOR["blue"], linewidth=1.5,
                                                 linestyle="--"))
        self.taps = PatchCollection([], facecolor=COLOR["orange"], alpha=0.85, edgecolor="none")
        ax_in.add_collection(self.taps)
        self.footprint = Rectangle((0, 0), 1, 1, fill=False, edgecolor=COLOR["black"], linewidth=2.5)
        ax_in.add_patch(self.footprint)
        self.out_image = self.ax_out.imshow(np.ones((1, 1, 3)), interpolation="nearest")
        self.out_grid = LineCollection([], colors="0.6", linewidths=1)  # on top of the output cells
        self.ax_out.add_collection(self.out_grid)
        self.no_fit = self.ax_out.text(0, 0, "no position fits", ha="center", va="center", color=COLOR["vermillion"])
        self.suptitle = self.fig.suptitle(" ", fontsize=11)
        self.redraw = FastRedraw(
            self.fig, moving=[self.cells, self.unread, self.in_grid, self.padding, self.taps, self.footprint,
                              self.out_image, self.out_grid, ax_in.title, self.ax_out.title, self.suptitle],
            backgrounds=32, regions=[(0, 0, self.SPLIT, 1), (self.SPLIT, 0, 1, 1)])

    def _set_frames(self, Wp: int, W2: int, ticks: bool = True) -> None:
        """Limits (and ticks) of both panels for these sizes (what their kept frames show)."""
        for ax, n in ((self.ax_in, Wp), (self.ax_out, max(W2, 1))):
            if ticks:  # only a full draw shows them
                ax.set_xticks(range(n))
                ax.set_yticks(range(n))
            ax.set_xlim(-0.5, n - 0.5)
            ax.set_ylim(n - 0.5, -0.5)
        self.no_fit.set_visible(not W2)

    def prepare(self, max_padded: int) -> None:
        """Draw and keep the frames of every size up to ``max_padded`` (one full draw per size)."""
        for n in range(max_padded + 1):
            self._set_frames(max(n, 1), n)
            self.redraw.prepare((max(n, 1), n))

    def draw(self, data: dict, values: dict | None = None) -> bytes:
        """PNG bytes of the picture for one :func:`explorer_data` dict (an App's ``draw``)."""
        arith, Wp, W1, W2 = data["arith"], data["Wp"], data["W1"], data["W2"]
        P = (Wp - W1) // 2
        key = (Wp, W2)
        self._set_frames(Wp, W2, ticks=not self.redraw.has_background(key))  # the limits place the cells
        # Padded input: padding grey, input light blue, cells no position reads hatched.
        rgb = np.full((Wp, Wp, 3), 0.85)
        rgb[P:P + W1, P:P + W1] = np.array(to_rgb(COLOR["sky_blue"])) * 0.45 + 0.55
        self.cells.set_data(rgb)
        self.cells.set_extent((-0.5, Wp - 0.5, Wp - 0.5, -0.5))
        unread = np.argwhere(~data["used"])  # (k, 2) rows and columns
        self.unread.set_visible(bool(len(unread)))
        if len(unread):
            corners = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5)])
            codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY] * len(unread)
            self.unread.set_path(Path((unread[:, None, ::-1] + corners).reshape(-1, 2), codes))
        self.in_grid.set_segments(_grid_segments(Wp))
        self.padding.set_visible(bool(P))
        self.padding.set_bounds(P - 0.5, P - 0.5, W1, W1)
        self.ax_in.set_title(f"padded input {Wp}×{Wp} (input {W1}×{W1} + padding {P} on each side)", y=1.02)
        colour = "black" if arith.valid else COLOR["vermillion"]
        status = "valid" if arith.valid else "INVALID ✗  (hatched: cells no position reads)"
        self.suptitle.set_text("\n".join(textwrap.wrap(arith.message, 110) + [status]))
        self.suptitle.set_color(colour)
        taps = data["taps"]
        self.taps.set_paths([Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in taps])
        self.footprint.set_visible(bool(taps))
        if taps:
            rows, cols = [r for r, _ in taps], [c for _, c in taps]
            self.footprint.set_bounds(min(cols) - 0.5, min(rows) - 0.5, max(cols) - min(cols) + 1,
                                      max(rows) - min(rows) + 1)
        # Output: visited cells light, the current one orange.
        self.out_grid.set_segments(_grid_segments(max(W2, 1)))
        if W2:
            out = np.ones((W2 * W2, 3))
            out[:data["step"]] = np.array(to_rgb(COLOR["green"])) * 0.35 + 0.65
            out = out.reshape(W2, W2, 3)
            out[data["row"], data["col"]] = to_rgb(COLOR["orange"])
            self.out_image.set_data(out)
            self.out_image.set_extent((-0.5, W2 - 0.5, W2 - 0.5, -0.5))
            self.ax_out.set_title(f"output {W2}×{W2}: cell ({data['row']}, {data['col']}), "
                                  f"position {data['step'] + 1} of {data['n_steps']}", y=1.02)
        else:
            self.out_image.set_data(np.ones((1, 1, 3)))
            self.ax_out.set_title("output: empty", y=1.02)
        return self.redraw.png(static_key=key)


def draw_explorer(data: dict, values: dict | None = None):
    """The explorer's picture for one :func:`explorer_data` dict, as a new ``Figure``."""
    picture = ExplorerPicture()
    picture.draw(data, values)
    for artist in picture.redraw.moving:  # a plain figure: draw the moving artists like the others
        artist.set_animated(False)
    return picture.fig


def conv_explorer(W1: int = 7, F: int = 3, P: int = 1, S: int = 2, D: int = 1, *, max_size: int = 12,
                  max_kernel: int = 7, max_padding: int = 3, max_stride: int = 4, max_dilation: int = 3,
                  interval_ms: int = 1000) -> App:
    """The convolution explorer: an :class:`~course_utils.widgets.App` with dependent bounds.

    Controls: ``W1`` input size, ``F`` kernel size, ``P`` padding, ``S`` stride, ``D`` dilation
    (sliders) and ``step`` (an ``ipywidgets.Play``: press play to step the kernel through every
    output position). The kernel slider's maximum follows the padded input size and the dilation
    (the kernel always fits), the dilation's maximum follows the kernel, and the play control's
    maximum is the number of output positions minus one. A stride that does not tile the padded
    input is allowed and flagged as invalid in red, with the cells no position reads hatched.

    ``app.update(W1=9, S=3)`` sets controls from code; ``app.state.data`` is the dict of
    :func:`explorer_data`. Bounds adapt as each control is set, and :meth:`App.update` checks a value
    against the bounds *before* the call, so set a control whose range a call widens in a later
    call: ``app.update(W1=12)`` then ``app.update(F=7)``. The Play control is an ordinary App
    control (an ipywidget with a ``value``); it works with ipywidgets 7 (``_repeat``) and 8.
    """
    controls = {
        "W1": slider(3, max_size, 1, W1, "input size W1"),
        "F": slider(1, max_kernel, 1, F, "kernel size F"),
        "P": slider(0, max_padding, 1, P, "padding P"),
        "S": slider(1, max_stride, 1, S, "stride S"),
        "D": slider(1, max_dilation, 1, D, "dilation D"),
        "step": widgets.Play(value=0, min=0, max=1, step=1, interval=interval_ms, description="position",
                             **({"repeat": True} if IPYWIDGETS_MAJOR >= 8 else {"_repeat": True})),
    }
    c = controls

    def fix_bounds(_change=None):
        padded = c["W1"].value + 2 * c["P"].value
        c["F"].max = min(max_kernel, (padded - 1) // c["D"].value + 1)
        c["D"].max = max_dilation if c["F"].value == 1 else max(1, min(max_dilation, (padded - 1) // (c["F"].value - 1)))
        n = conv_arithmetic(c["W1"].value, c["F"].value, c["P"].value, c["S"].value, c["D"].value).size
        c["step"].max = max(1, n * n - 1)

    fix_bounds()
    # Registered before the App's own observers, so bounds are right before it redraws.
    for name in ("W1", "F", "P", "S", "D"):
        c[name].observe(fix_bounds, names="value")
    picture = ExplorerPicture()
    if not fast_mode():  # every panel size's frame now (a second or two), so that no update redraws in full
        picture.prepare(max_size + 2 * max_padding)
    return App(controls, explorer_data, picture.draw, title="Convolution explorer", cache=True)


# --------------------------------------------------------------------------------------------
# Receptive fields
# --------------------------------------------------------------------------------------------
def _layer_spec(layer) -> tuple[int, int, int]:
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        layer = (layer,)
    if not isinstance(layer, (tuple, list)) or not 1 <= len(layer) <= 3:
        raise ValueError(f"each layer must be kernel_size or (kernel_size, stride[, dilation]), got {layer!r}")
    k = _positive_int("kernel_size", layer[0])
    s = _positive_int("stride", layer[1]) if len(layer) > 1 else 1
    d = _positive_int("dilation", layer[2]) if len(layer) > 2 else 1
    return k, s, d


def receptive_field_layout(layers: Sequence, top_units: int = 3) -> dict:
    """Positions of the units of a 1-D stack of layers, and which of them one top unit sees.

    Args:
        layers: list of ``kernel_size`` or ``(kernel_size, stride[, dilation])``, input side
            first (pooling is a layer too: ``(2, 2)``). No padding: every unit sits over the centre
            of the input pixels it sees.
        top_units: how many units to draw in the last layer (the middle one is followed).
    Returns:
        dict with ``sizes`` (units per level, level 0 = input), ``centres`` (per level, the
        x-position of each unit in input-pixel coordinates), ``active`` (per level, the sorted
        indices of the units the followed top unit depends on), ``receptive_field`` (its extent in
        input pixels: ``1 + sum_l (F_eff_l - 1) * prod_{m<l} S_m``) and ``jumps`` (input pixels
        between neighbouring units at each level).
    """
    specs = [_layer_spec(layer) for layer in layers]
    if not specs:
        raise ValueError("layers must list at least one layer")
    top_units = _positive_int("top_units", top_units)
    sizes = [top_units]
    for k, s, d in reversed(specs):
        sizes.insert(0, (sizes[0] - 1) * s + d * (k - 1) + 1)
    jumps, centres = [1], [np.arange(sizes[0], dtype=float)]
    for level, (k, s, d) in enumerate(specs, start=1):
        first = centres[-1][0] + d * (k - 1) / 2 * jumps[-1]
        jumps.append(jumps[-1] * s)
        centres.append(first + jumps[-1] * np.arange(sizes[level]))
    active = [[top_units // 2]]
    for k, s, d in reversed(specs):
        below = sorted({i * s + j * d for i in active[0] for j in range(k)})
        active.insert(0, below)
    rf = 1 + sum(d * (k - 1) * math.prod(s2 for _, s2, _ in specs[:i]) for i, (k, _, d) in enumerate(specs))
    assert rf == active[0][-1] - active[0][0] + 1
    return {"sizes": sizes, "centres": centres, "active": active, "receptive_field": rf, "jumps": jumps}


def draw_receptive_field(layers: Sequence, names: Sequence[str] | None = None, ax=None, top_units: int = 3):
    """Draw a 1-D stack of layers and the units one output unit depends on, level by level.

    Args:
        layers: as in :func:`receptive_field_layout`.
        names: optional label per layer (default ``"k=3, s=1"``-style labels).
        ax: axes to draw into; None makes a new figure.
    Returns:
        The axes. The title gives the receptive field (in 2-D it is that many pixels squared).
    """
    layout = receptive_field_layout(layers, top_units)
    specs = [_layer_spec(layer) for layer in layers]
    if names is None:
        names = [f"k={k}, s={s}" + (f", d={d}" if d > 1 else "") for k, s, d in specs]
    if len(names) != len(specs):
        raise ValueError(f"names needs one label per layer ({len(specs)}), got {len(names)}")
    if ax is None:
        width = min(12.0, max(6.0, 0.28 * layout["sizes"][0] + 2.5))
        _, ax = plt.subplots(figsize=(width, 1.0 + 0.9 * len(specs)))
    for level, (centres, active) in enumerate(zip(layout["centres"], layout["active"])):
        on = np.zeros(len(centres), dtype=bool)
        on[active] = True
        if level > 0:
            k, s, d = specs[level - 1]
            below = layout["centres"][level - 1]
            for i in active:
                for j in range(k):
                    ax.plot([centres[i], below[i * s + j * d]], [level, level - 1], color=COLOR["orange"],
                            linewidth=1, zorder=1)
        ax.scatter(centres[~on], np.full((~on).sum(), level), s=40, facecolor="white", edgecolor="0.6", zorder=2)
        ax.scatter(centres[on], np.full(on.sum(), level), s=55, color=COLOR["vermillion"] if level == 0
                   else COLOR["blue"], zorder=3)
    lo, hi = layout["centres"][0][layout["active"][0][0]], layout["centres"][0][layout["active"][0][-1]]
    ax.axvspan(lo - 0.5, hi + 0.5, ymin=0, ymax=0.5 / (len(specs) + 1), color=COLOR["vermillion"], alpha=0.15)
    ax.set_yticks(range(len(specs) + 1), ["input"] + list(names))
    ax.set_xlabel("input pixel")
    ax.grid(False)
    ax.set_ylim(-0.6, len(specs) + 0.6)
    ax.set_title(f"receptive field of one top unit: {layout['receptive_field']} input pixels "
                 f"({layout['receptive_field']}×{layout['receptive_field']} in 2-D)")
    return ax


# --------------------------------------------------------------------------------------------
# LeNet and model tables
# --------------------------------------------------------------------------------------------
def make_lenet(image_size: int = 32, num_classes: int = 10, in_channels: int = 1, activation: str = "relu",
               pool: str = "max", seed: int | None = None) -> nn.Sequential:
    """A LeNet-style network: C1 conv 6@5×5, S2 pool 2, C3 conv 16@5×5, S4 pool 2, F5 120, F6 84, output.

    Args:
        image_size: side of the square input. 32 gives LeNet-5's shapes (28, 14, 10, 5); smaller
            inputs (16, 28) get padding 2 in C1, as for MNIST (28 -> the same shapes as 32).
        activation: "relu" (modern) or "tanh" (closer to 1998).
        pool: "max" (modern) or "avg" (closer to LeNet-5's subsampling, which also had a trainable
            scale and bias per map).
        seed: initialise from this seed, leaving the global generator as it was.
    Returns:
        ``nn.Sequential`` with named layers ``C1, act1, S2, C3, act3, S4, flatten, F5, act5, F6,
        act6, output``; input ``(N, in_channels, image_size, image_size)``, output logits
        ``(N, num_classes)``. F5 is LeNet-5's C5: a 5×5 convolution over a 5×5 map is a dense layer.
    """
    image_size = _positive_int("image_size", image_size, minimum=12)
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
    pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    if pool not in pools:
        raise ValueError(f"pool must be one of {sorted(pools)}, got {pool!r}")
    pad = 0 if image_size >= 32 else 2
    side = ((image_size + 2 * pad - 4) // 2 - 4) // 2

    def build():
        return nn.Sequential(OrderedDict([
            ("C1", nn.Conv2d(in_channels, 6, 5, padding=pad)), ("act1", acts[activation]()),
            ("S2", pools[pool](2)),
            ("C3", nn.Conv2d(6, 16, 5)), ("act3", acts[activation]()),
            ("S4", pools[pool](2)),
            ("flatten", nn.Flatten()),
            ("F5", nn.Linear(16 * side * side, 120)), ("act5", acts[activation]()),
            ("F6", nn.Linear(120, 84)), ("act6", acts[activation]()),
            ("output", nn.Linear(84, num_classes)),
        ]))

    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters: every weight and bias entry."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def layer_table(model: nn.Module, input_shape: Sequence[int]) -> list[dict]:
    """Run one zero input through ``model`` and record every top-level layer's output.

    Args:
        model: a module whose direct children run in order (e.g. ``nn.Sequential``).
        input_shape: shape of one input without the batch dimension, e.g. ``(1, 32, 32)``.
    Returns:
        list of dicts, one per direct child in order: ``name``, ``layer`` (its repr, short),
        ``output_shape`` (without the batch dimension, a tuple) and ``params`` (int).
    """
    rows, hooks = [], []
    for layer_name, layer in model.named_children():
        def hook(module, _inputs, output, name=layer_name):
            rows.append({"name": name, "layer": type(module).__name__, "output_shape": tuple(output.shape[1:]),
                         "params": count_parameters(module)})
        hooks.append(layer.register_forward_hook(hook))
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model.eval()
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        for handle in hooks:
            handle.remove()
    return rows


def translate(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Shift images ``(..., H, W)`` down by ``dy`` and right by ``dx`` whole pixels (negative: up /
    left); pixels shifted in are 0, pixels shifted out are lost. Returns a new tensor."""
    out = torch.zeros_like(images)
    H, W = images.shape[-2:]
    if abs(dy) >= H or abs(dx) >= W:
        return out
    src_y = slice(max(0, -dy), H - max(0, dy))
    dst_y = slice(max(0, dy), H - max(0, -dy))
    src_x = slice(max(0, -dx), W - max(0, dx))
    dst_x = slice(max(0, dx), W - max(0, -dx))
    out[..., dst_y, dst_x] = images[..., src_y, src_x]
    return out
