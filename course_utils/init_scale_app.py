"""Notebook 02's app: how large should the initial weights be? (σ × activation × depth)

The experiment is :func:`course_utils.initialization.propagation_stats` with ``loss="sum"`` (a unit
gradient at the output): a fresh MLP of ``depth`` hidden layers, ``width`` units, every weight
N(0, σ²), zero biases, seed 0. Left panels: the std of each layer's activations and of the gradient
reaching it, at the chosen σ; right panel: the last layer's activation std and the first layer's
gradient std for every σ of a grid, with the critical σ* = g/√width dashed::

    from course_utils.init_scale_app import init_scale_app
    app = init_scale_app(np.logspace(-2, 0, 13), width=100)
    app.update(sigma=0.14, activation="relu", depth=30).data["act_std"]   # (30,) per-layer stds

Why it is fast. With the seed fixed, the weights for σ are exactly σ times those for σ = 1 (torch draws
``normal_(0, σ)`` as σ · N(0, 1) from the same random numbers), so each depth's unit-σ network is
drawn once, and one batched pass runs all σ of the grid at once. Outside fast mode the app computes
every (activation, depth) sweep and draws the figure's background for every depth when it is made
(a second or two on the course's CPU), so no update waits for either; an update runs one small pass at
the chosen σ and blits one persistent figure (:class:`course_utils.plots.FastRedraw`; the log axes are
redrawn because their ranges follow the data).
The numbers are those of ``propagation_stats`` up to rounding (tests check it).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from course_utils.initialization import init_normal_
from course_utils.nets import make_mlp
from course_utils.plots import FastRedraw
from course_utils.widgets import App, dropdown, slider

__all__ = ["ACTIVATIONS", "CRITICAL_GAIN", "DEPTHS", "UnitNetworks", "init_scale_app"]

#: The activations the app offers (``make_mlp`` names).
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
#: g in σ* = g / √width (None: the sigmoid has no σ*, its outputs are not centred).
CRITICAL_GAIN = {"relu": math.sqrt(2), "leaky_relu": math.sqrt(2 / (1 + 0.1 ** 2)), "tanh": 1.0, "sigmoid": None}
#: The depths the depth slider offers.
DEPTHS = tuple(range(5, 55, 5))

_SLOPE = 0.1  # make_mlp's leaky ReLU


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(x: float, _pos=None) -> str:
    """A log axis' tick label as plain text, 10⁻⁵ (matplotlib's default is math text, which costs most of
    the drawing time of an axis whose ticks change on every update)."""
    if not x > 0:
        return ""
    k = round(math.log10(x))
    return "10" + str(k).translate(_SUPERSCRIPT) if abs(x / 10.0 ** k - 1) < 1e-6 else ""


def _act_and_derivative(name: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if name == "relu":
        return torch.relu(z), (z > 0).to(z.dtype)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(z, _SLOPE), torch.where(z > 0, 1.0, _SLOPE).to(z.dtype)
    if name == "tanh":
        t = torch.tanh(z)
        return t, 1 - t * t
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s, s * (1 - s)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


class UnitNetworks:
    """The σ = 1 weights and the input batch of ``propagation_stats``' network, per depth (cached).

    Args:
        width: units per hidden layer (and input features).
        batch: examples in the standard-normal input batch.
        seed: the seed ``propagation_stats`` uses.
    """

    def __init__(self, width: int = 100, batch: int = 64, seed: int = 0):
        self.width, self.batch, self.seed = width, batch, seed
        self._nets: dict[int, tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]] = {}

    def get(self, depth: int) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """``(hidden weights (width, width) each, head weight (1, width), input batch)`` for σ = 1."""
        if depth not in self._nets:
            with torch.random.fork_rng(devices=[]):  # the same draws as propagation_stats
                torch.manual_seed(self.seed)
                net = make_mlp(self.width, 1, width=self.width, depth=depth, activation="relu").double()
                init_normal_(net, 1.0)
                x = torch.randn(self.batch, self.width, dtype=torch.float64)
            weights = [block.linear.weight.detach() for block in net.blocks]
            self._nets[depth] = (weights, net.head.weight.detach(), x)
        return self._nets[depth]

    def stats(self, sigmas: Sequence[float], activation: str, depth: int) -> dict[str, np.ndarray]:
        """Per-layer std of the activations and of dLoss/d(activations) (loss: the output summed).

        Returns:
            dict with ``act_std`` and ``grad_std``, float64 arrays (len(sigmas), depth), input side first.
        """
        weights, head, x = self.get(depth)
        s = torch.as_tensor(np.asarray(sigmas, dtype=np.float64)).view(-1, 1, 1)
        h = x.expand(len(s), -1, -1)
        derivatives, act_std = [], []
        for w in weights:
            h, dh = _act_and_derivative(activation, s * (h @ w.T))
            derivatives.append(dh)
            act_std.append(h.flatten(1).std(dim=1))
        grad = (s * head).expand(-1, self.batch, -1)  # dLoss/dh_depth: σ · head weights, for every example
        grad_std = [None] * depth
        for k in range(depth - 1, -1, -1):
            grad_std[k] = grad.flatten(1).std(dim=1)
            if k:
                grad = s * ((grad * derivatives[k]) @ weights[k])
        return {"act_std": torch.stack(act_std, 1).numpy(), "grad_std": torch.stack(grad_std, 1).numpy()}


def init_scale_app(sigma_grid: Sequence[float], width: int = 100, *, sigma: float = 0.1, activation: str = "relu",
                   depth: int = 30, precompute: bool | None = None) -> App:
    """The app: slider σ (log), drop-down activation, slider depth (5..50).

    Args:
        sigma_grid: the σ values of the right panel's sweep, increasing, in [0.01, 1].
        width: units per hidden layer.
        sigma, activation, depth: the start values.
        precompute: compute every sweep now; default: outside fast mode only.
    Returns:
        An :class:`course_utils.widgets.App`; ``state.data`` holds ``act_std``, ``grad_std`` (depth,) at
        the chosen σ, ``act_last``, ``grad_first`` (the sweep over ``sigma_grid``) and ``critical`` (σ* or None).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullLocator

    from course_utils.reproducibility import fast_mode

    grid = np.asarray(sigma_grid, dtype=np.float64)
    if grid.ndim != 1 or len(grid) < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("sigma_grid must be an increasing 1-D sequence of at least two values")
    nets = UnitNetworks(width)
    sweeps: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def sweep(act: str, d: int):
        if (act, d) not in sweeps:
            out = nets.stats(grid, act, d)
            sweeps[act, d] = (out["act_std"][:, -1], out["grad_std"][:, 0])
        return sweeps[act, d]

    precompute = (not fast_mode()) if precompute is None else precompute
    if precompute:
        for d in DEPTHS:
            for act in ACTIVATIONS:
                sweep(act, d)

    def compute(sigma, activation, depth):
        stats = nets.stats([sigma], activation, depth)
        act_last, grad_first = sweep(activation, depth)
        gain = CRITICAL_GAIN[activation]
        return {"act_std": stats["act_std"][0], "grad_std": stats["grad_std"][0], "act_last": act_last,
                "grad_first": grad_first, "critical": None if gain is None else gain / math.sqrt(width)}

    fig = Figure(figsize=(13, 3.8), dpi=80, layout="none")
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.14, top=0.84, wspace=0.25)
    act_line, = axes[0].plot([], [], marker=".", color="C0")
    grad_line, = axes[1].plot([], [], marker=".", color="C1")
    axes[0].set(yscale="log", xlabel="hidden layer", ylabel="std of activations", title="forward")
    axes[1].set(yscale="log", xlabel="hidden layer", ylabel="std of ∂out/∂activations", title="backward")
    ax = axes[2]
    sweep_act, = ax.plot(grid, grid, marker="o")
    sweep_grad, = ax.plot(grid, grid, marker="s")
    one = ax.axhline(1.0, color="grey", lw=1, ls=":")
    cursor = ax.axvline(sigma, color="k", lw=1)
    critical = ax.axvline(sigma, color="C2", ls="--")
    ax.set(xscale="log", yscale="log", xlabel="weight std σ", ylabel="std", xlim=(grid[0] / 1.3, grid[-1] * 1.3))
    for a in axes:  # minor ticks of a log axis cost much of its drawing time
        a.xaxis.set_minor_locator(NullLocator())
        a.yaxis.set_minor_locator(NullLocator())
        a.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    ax.xaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    for a in axes:  # a fixed place clear of the widest tick labels (10⁻¹⁵): matplotlib would otherwise
        a.yaxis.set_label_coords(-0.145, 0.5)  # measure the tick labels of all three panels on each update
    legend = ax.legend([sweep_act, sweep_grad, cursor, critical], ["", "", "", ""], fontsize=7)
    suptitle = fig.suptitle("")
    title_size = ax.title.get_fontsize()
    # The layer axes depend on the depth only: one background per depth, drawn ahead (below). The
    # log axes follow the data, so they are redrawn on every update.
    moving = [a.yaxis for a in axes] + [act_line, grad_line, one, sweep_act, sweep_grad, cursor, critical, legend,
                                        suptitle, *(a.title for a in axes)]
    redraw = FastRedraw(fig, moving=moving, backgrounds=len(DEPTHS))

    def set_depth(d: int) -> None:
        for a in axes[:2]:
            a.set_xlim(0.5 - 0.05 * d, d + 0.5 + 0.05 * d)

    if precompute:
        for d in DEPTHS:
            set_depth(d)
            redraw.prepare(d)

    def limits(values: np.ndarray) -> tuple[float, float]:
        v = values[np.isfinite(values) & (values > 0)]
        if not len(v):
            return 0.1, 10.0
        low, high = math.log10(v.min()), math.log10(v.max())
        pad = 0.05 * (high - low)  # matplotlib's margin, then out to whole decades so that ticks are labelled
        return 10.0 ** math.floor(low - pad), 10.0 ** math.ceil(high + pad + 1e-9)

    def draw(data, values):
        k = np.arange(1, values["depth"] + 1)
        act_line.set_data(k, data["act_std"])
        grad_line.set_data(k, data["grad_std"])
        set_depth(len(k))
        for a, y in ((axes[0], data["act_std"]), (axes[1], data["grad_std"])):
            a.set_ylim(*limits(y))
        sweep_act.set_ydata(data["act_last"])
        sweep_grad.set_ydata(data["grad_first"])
        ax.set_ylim(*limits(np.concatenate([data["act_last"], data["grad_first"], [1.0]])))
        cursor.set_xdata([values["sigma"]] * 2)
        critical.set_visible(data["critical"] is not None)
        labels = [f"activations, layer {values['depth']}", "gradient, layer 1", f"your σ = {values['sigma']:.3g}"]
        if data["critical"] is not None:
            critical.set_xdata([data["critical"]] * 2)
            labels.append(f"critical σ* = {data['critical']:.3g}")
            ax.set_title("sweep over σ", fontsize=title_size)
        else:
            ax.set_title("sigmoid: no σ* (outputs are not centred)", fontsize=9)
        for text, label in zip(legend.get_texts(), labels + [""]):
            text.set_text(label)
        legend.legend_handles[3].set_visible(data["critical"] is not None)
        suptitle.set_text(f"{values['activation']}, depth {values['depth']}, D_h = {width}, σ = {values['sigma']:.3g}")
        return redraw.png(static_key=len(k))

    return App(
        controls={
            "sigma": slider(0.01, 1.0, 0.05, sigma, "weight std σ", log=True),
            "activation": dropdown(list(ACTIVATIONS), activation, "activation"),
            "depth": slider(DEPTHS[0], DEPTHS[-1], DEPTHS[1] - DEPTHS[0], depth, "depth"),
        },
        compute=compute, draw=draw, title="How large should the initial weights be?", cache=True,
    )
