"""Where does the gradient go? Per-layer gradient size and saturation of a fresh deep MLP (notebook 01).

One forward and one backward pass of a fresh network (``make_mlp``, PyTorch's default
initialisation, a fixed seed) on a batch of inputs multiplied by an *input scale*::

    from course_utils.gradient_profile_app import gradient_profile, gradient_profile_app
    gradient_profile(x, y, "sigmoid", depth=10, input_scale=30.0, skip=False)
    # {"grad": (depth,) std of dL/dh per hidden layer, "saturated": (depth,) percent, "ratio": float}
    app = gradient_profile_app(x, y)          # dropdown activation, sliders depth and input scale, skip toggle
    app.update(input_scale=30.0).data["ratio"]

The app draws into one persistent figure with fixed axes (layers 1..``max_depth``, gradient std on a
log axis from 1e-16 to 1e4, saturation 0..100 %) through :class:`course_utils.plots.FastRedraw`, so an
update redraws only the two curves, the bars and the titles.
"""
from __future__ import annotations

import numpy as np
import torch

from course_utils.nets import layer_statistics, make_mlp
from course_utils.plots import FastRedraw
from course_utils.widgets import App, dropdown, slider, toggle

__all__ = ["gradient_profile", "gradient_profile_app", "ACTIVATIONS", "GRAD_RANGE"]

#: The activations the app offers (``make_mlp`` names).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
#: The fixed y-range of the gradient panel; values outside are drawn at its edge.
GRAD_RANGE = (1e-16, 1e4)


def _check_batch(x, y) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty (N, features) tensor, got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if not isinstance(y, torch.Tensor) or y.shape != (x.shape[0],):
        raise ValueError(f"y must be a tensor of N = {x.shape[0]} class labels, got "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")


def gradient_profile(x: torch.Tensor, y: torch.Tensor, activation: str, depth: int, input_scale: float,
                     skip: bool, width: int = 64, num_classes: int = 10, seed: int = 0) -> dict:
    """Per-layer gradient size and saturation of a fresh MLP on ``input_scale * x``.

    Args:
        x: inputs (N, features); y: class labels (N,), on the same device.
        activation: one of :data:`ACTIVATIONS`.
        depth: number of hidden layers (>= 1), each ``width`` units wide.
        input_scale: factor applied to the inputs (> 0).
        skip: residual connections around the hidden layers (``make_mlp(residual=True)``).
        seed: seed of the initial weights.
    Returns:
        dict with ``grad`` (array (depth,), std of dLoss/d(hidden output) per layer, input side first),
        ``saturated`` (array (depth,), percent of saturated (sigmoid, tanh) or inactive (ReLU) units;
        NaN for leaky ReLU, which never saturates) and ``ratio`` (float, grad[0] / grad[-1]).
    Raises:
        ValueError: an unknown activation, depth < 1, input_scale <= 0 or a malformed batch.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if not (isinstance(depth, (int, np.integer)) and depth >= 1):
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")
    if not input_scale > 0:
        raise ValueError(f"input_scale must be > 0, got {input_scale!r}")
    _check_batch(x, y)
    net = make_mlp(x.shape[1], num_classes, width=width, depth=int(depth), activation=activation,
                   residual=bool(skip), seed=seed).to(x.device)
    stats = layer_statistics(net, x * input_scale, y)
    grads = np.array(stats["act_grad_std"])
    return {"grad": grads, "saturated": 100 * np.array(stats["saturated"]), "ratio": float(grads[0] / grads[-1])}


def gradient_profile_app(x: torch.Tensor, y: torch.Tensor, max_depth: int = 30, width: int = 64) -> App:
    """The widget of notebook 01: activation x depth x input scale x skip connections.

    Args:
        x, y: the batch (N, features) and its labels (N,); 256 digits in the lesson.
        max_depth: the largest depth the slider offers (>= 2).
        width: units per hidden layer.
    Returns:
        An :class:`course_utils.widgets.App` whose ``state.data`` is :func:`gradient_profile`'s dict.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    _check_batch(x, y)
    if not (isinstance(max_depth, int) and max_depth >= 2):
        raise ValueError(f"max_depth must be an int >= 2, got {max_depth!r}")

    def compute(activation, depth, input_scale, skip):
        return gradient_profile(x, y, activation, depth, input_scale, skip, width=width)

    fig = Figure(figsize=(11, 3.8), dpi=80, layout="none")
    ax_g, ax_s = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.88, wspace=0.22)
    grad_line, = ax_g.semilogy([1], [1], marker="o", color="C0", label="std of ∂L/∂h")
    ax_g.set(xlim=(0.5, max_depth + 0.5), ylim=GRAD_RANGE, xlabel="hidden layer (1 = input side)",
             ylabel="std of ∂L/∂h (log scale)")
    ax_g.yaxis.set_minor_locator(NullLocator())  # minor ticks are most of the drawing time of a log axis
    ax_g.legend(loc="lower right")
    bars = LineCollection([], colors="C1", alpha=0.5, linewidths=6)
    ax_s.add_collection(bars)
    sat_line, = ax_s.plot([1], [0], "o", color="C1", label="saturated / inactive units")
    ax_s.set(xlim=(0.5, max_depth + 0.5), ylim=(0, 100), xlabel="hidden layer (1 = input side)", ylabel="% of units",
             title="Saturated (sigmoid, tanh) or inactive (ReLU) units")
    ax_s.legend(loc="upper right")
    note = ax_s.text(0.5, 0.5, "", ha="center", va="center", transform=ax_s.transAxes)
    redraw = FastRedraw(fig, moving=[grad_line, bars, sat_line, note, ax_g.title])

    def draw(data, values):
        layers = np.arange(1, len(data["grad"]) + 1)
        grad_line.set_data(layers, np.clip(data["grad"], *GRAD_RANGE))
        name = values["activation"] + (" + skip" if values["skip"] else "")
        ax_g.set_title(f"Gradient per layer, {name}; first/last = {data['ratio']:.2g}")
        saturated = data["saturated"]
        never = bool(np.all(np.isnan(saturated)))
        note.set_text("leaky ReLU never saturates:\nits derivative is ≥ α everywhere" if never else "")
        shown = np.zeros_like(saturated) if never else saturated
        bars.set_segments([[(k, 0.0), (k, v)] for k, v in zip(layers, shown)])
        sat_line.set_data(layers if not never else [], shown if not never else [])
        return redraw.png()

    return App(
        controls={
            "activation": dropdown(list(ACTIVATIONS), "sigmoid", "activation"),
            "depth": slider(2, max_depth, 1, min(10, max_depth), "depth"),
            "input_scale": slider(0.1, 100.0, value=1.0, description="input scale", log=True),
            "skip": toggle("skip connections", False),
        },
        compute=compute, draw=draw, title="Where does the gradient go?", cache=True,
    )
