"""The activation explorer of notebook 00: an activation, its derivative, and where almost no gradient passes.

::

    from course_utils.activation_app import activation_data, activation_explorer
    activation_data("sigmoid", slope=0.1, z_max=8.0)
    # {"z", "f", "d": (501,) tensors, "max_grad": float, "small_fraction": float}
    app = activation_explorer()           # drop-down activation, sliders leaky slope α and range ±z
    app.update(activation="tanh", z_max=4.0).data["small_fraction"]

The app draws into one persistent figure through :class:`course_utils.plots.FastRedraw`: the
figure's frame is drawn once, and each update draws only the curves, the shading, the titles and the
axes (whose limits follow the range and the activation).
"""
from __future__ import annotations

import numpy as np
import torch

from course_utils.activations import value_and_derivative
from course_utils.plots import FastRedraw
from course_utils.widgets import App, dropdown, slider

__all__ = ["ACTIVATIONS", "SMALL_GRADIENT", "activation_data", "activation_explorer"]

#: The activations the explorer offers.
ACTIVATIONS = ("ReLU", "leaky ReLU", "sigmoid", "tanh")
#: A derivative below this (in absolute value) counts as "almost no gradient gets through".
SMALL_GRADIENT = 0.01


def _activation(name: str, slope: float):
    fns = {
        "ReLU": torch.relu,
        "leaky ReLU": lambda z: torch.nn.functional.leaky_relu(z, slope),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }
    if name not in fns:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")
    return fns[name]


def activation_data(activation: str, slope: float, z_max: float) -> dict:
    """Values and derivatives of one activation on [-z_max, z_max] (501 points).

    Args:
        activation: one of :data:`ACTIVATIONS`.
        slope: the leaky ReLU's slope α for z < 0 (used by "leaky ReLU" only).
        z_max: half-width of the range, > 0.
    Returns:
        dict with ``z``, ``f``, ``d`` (float32 tensors (501,): inputs, values, derivatives by autograd),
        ``max_grad`` (the largest derivative) and ``small_fraction`` (the fraction of the range where
        ``|g'(z)| <`` :data:`SMALL_GRADIENT`).
    Raises:
        ValueError: an unknown activation or ``z_max <= 0``.
    """
    fn = _activation(activation, slope)
    if not z_max > 0:
        raise ValueError(f"z_max must be > 0, got {z_max!r}")
    z = torch.linspace(-z_max, z_max, 501)
    f, d = value_and_derivative(fn, z)
    small = d.abs() < SMALL_GRADIENT  # where almost no gradient gets through
    return {"z": z, "f": f, "d": d, "max_grad": float(d.max()), "small_fraction": float(small.float().mean())}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of each run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def _padded(low: float, high: float) -> tuple[float, float]:
    """Limits with matplotlib's default 5% margin (and some room for a flat curve)."""
    span = high - low if high > low else max(abs(high), 1.0)
    return low - 0.05 * span, high + 0.05 * span


def activation_explorer(activation: str = "sigmoid", slope: float = 0.1, z_max: float = 8.0) -> App:
    """The explorer: pick an activation, its leaky slope and the range; see g and g' side by side.

    Left: ``g(z)``; right: ``g'(z)`` with the range where ``|g'(z)| < 0.01`` shaded, its share and the
    largest derivative in the title. The range slider follows the drag (each update is cheap).

    Returns:
        An :class:`course_utils.widgets.App` whose ``state.data`` is :func:`activation_data`'s dict.
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    activation_data(activation, slope, z_max)  # bad start values fail here
    fig = Figure(figsize=(10, 3.4), dpi=80, layout="none")
    ax_f, ax_d = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.22)
    line_f, = ax_f.plot([], [])
    line_d, = ax_d.plot([], [], color="C1")
    shade = PolyCollection([], facecolor="C3", alpha=0.15, edgecolor="none", transform=ax_d.get_xaxis_transform())
    ax_d.add_collection(shade, autolim=False)
    ax_f.set(xlabel="z", ylabel="g(z)")
    ax_d.set(xlabel="z", ylabel="g'(z)")
    for ax in (ax_f, ax_d):  # fixed places, clear of the widest tick labels: matplotlib would otherwise
        ax.xaxis.set_label_coords(0.5, -0.115)  # measure every tick label of both panels on each update
        ax.yaxis.set_label_coords(-0.14, 0.5)  # (a quarter of an update's time)
    # The axes (ticks, grid, labels) move with the range and the activation, so they are redrawn on
    # every update; the frame around them is drawn once.
    redraw = FastRedraw(fig, moving=[ax_f.xaxis, ax_f.yaxis, ax_d.xaxis, ax_d.yaxis, shade, line_f, line_d,
                                     ax_f.title, ax_d.title])

    def draw(data, values):
        z, f, d = data["z"].numpy(), data["f"].numpy(), data["d"].numpy()
        line_f.set_data(z, f)
        line_d.set_data(z, d)
        shade.set_verts([[(z[a], 0), (z[b], 0), (z[b], 1), (z[a], 1)] for a, b in _runs(np.abs(d) < SMALL_GRADIENT)])
        for ax, y in ((ax_f, f), (ax_d, d)):
            ax.set_xlim(*_padded(float(z[0]), float(z[-1])))
            ax.set_ylim(*_padded(float(y.min()), float(y.max())))
        ax_f.set_title(values["activation"])
        ax_d.set_title(f"derivative (max {data['max_grad']:.3g}); shaded: |g'(z)| < 0.01 on "
                       f"{data['small_fraction']:.0%}")
        return redraw.png()

    return App(
        controls={
            "activation": dropdown(list(ACTIVATIONS), activation, "activation"),
            "slope": slider(0.01, 0.5, 0.01, slope, "leaky slope α"),
            "z_max": slider(1.0, 20.0, 0.5, z_max, "range ±z", expensive=False),
        },
        compute=activation_data,
        draw=draw,
        title="Activation explorer",
    )
