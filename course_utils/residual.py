"""Residual networks under the microscope: shattered gradients and the paths through the blocks.

What the residual-network lesson (09) needs beyond :mod:`course_utils.nets`:

- :func:`he_init_` -- He-normal weights and Gaussian biases for every ``nn.Linear`` of a model;
- :func:`input_gradient` and :func:`gradient_curves` -- the derivative ``dy/dx`` of a scalar network
  ``y = f(x)`` over a grid of scalar inputs ``x`` (the "shattered gradients" picture of Balduzzi
  et al., 2017), for freshly initialised plain or residual MLPs;
- :func:`correlation_length` -- how far apart two inputs can be before their gradients stop being
  correlated, read off an autocorrelation function (you compute that function yourself);
- :func:`plot_gradient_curves`, :func:`plot_autocorrelations` -- the two figures of that experiment;
- :func:`path_gradients` -- the "unraveled" view of a trained residual MLP (Veit et al., 2016): how
  much of the gradient flows through paths that use ``l`` of the residual branches;
- :func:`shattering_explorer` -- a widget: depth x skips x normalisation -> ``dy/dx`` and its
  autocorrelation (the autocorrelation function is passed in).

The networks are :class:`course_utils.nets.MLP`: hidden blocks ``Linear -> [norm] -> ReLU`` and, with
``residual=True``, an identity skip around every block but the first, ``h + relu(norm(W h + b))``::

    from course_utils.residual import gradient_curves, correlation_length
    x, g = gradient_curves(depth=24, residual=False, seeds=range(4))   # x (256,), g (4, 256)
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.nets import MLP, NORMS, HiddenBlock, make_mlp
from course_utils.plots import COLOR, FastRedraw
from course_utils.widgets import App, dropdown, toggle

__all__ = [
    "he_init_",
    "input_gradient",
    "gradient_curves",
    "correlation_length",
    "plot_gradient_curves",
    "plot_autocorrelations",
    "residual_blocks",
    "path_gradients",
    "shattering_explorer",
]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Initialisation and gradients with respect to the input
# --------------------------------------------------------------------------------------------
def he_init_(model: nn.Module, bias_std: float = 0.0) -> nn.Module:
    """He (Kaiming) normal initialisation of every ``nn.Linear`` in ``model``, in place.

    Weights ~ N(0, 2 / fan_in); biases ~ N(0, bias_std^2) (all zero when ``bias_std`` is 0).
    Norm layers keep their defaults (scale 1, shift 0). Uses torch's global generator: seed first.

    Returns:
        ``model``, for chaining.
    Raises:
        ValueError: ``bias_std`` is negative or not a number.
    """
    if isinstance(bias_std, bool) or not isinstance(bias_std, (int, float)) or not bias_std >= 0:
        raise ValueError(f"bias_std must be a number >= 0, got {bias_std!r}")
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            with torch.no_grad():
                layer.weight.normal_(0.0, math.sqrt(2.0 / layer.in_features))
                if layer.bias is not None:
                    layer.bias.normal_(0.0, bias_std) if bias_std > 0 else layer.bias.zero_()
    return model


def _freeze_batch_statistics(model: nn.Module, x: torch.Tensor, inplace: bool = False) -> nn.Module:
    """``model`` (a copy unless ``inplace``, when it has batch norms) whose batch norms hold the
    statistics of the batch ``x`` as running statistics. The mode is left as it was."""
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return model
    if not inplace:
        model = copy.deepcopy(model)
    was_training = model.training
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, exactly that batch's statistics
    model.train()
    with torch.no_grad():
        model(x)
    return model.train(was_training)


def input_gradient(model: nn.Module, x, _inplace: bool = False) -> np.ndarray:
    """``dy/dx`` of a network with one input and one output, at each of N scalar inputs.

    Args:
        model: maps ``(N, 1)`` to ``(N, 1)`` (e.g. ``make_mlp(1, 1, ...)``). It is not changed.
        x: the inputs, shape ``(N,)`` or ``(N, 1)``, N >= 2 (a tensor, array or list).
    Returns:
        float64 array ``(N,)``: entry i is the derivative of the output at ``x[i]`` with respect to
        ``x[i]``. Batch norm layers use fixed statistics -- those of the whole batch ``x`` -- so that
        each output depends on its own input only (as in evaluation mode).
    Raises:
        ValueError: ``x`` has the wrong shape, or the model's output is not ``(N, 1)``.
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != 1 or x.shape[0] < 2:
        raise ValueError(f"x must have shape (N,) or (N, 1) with N >= 2, got {tuple(x.shape)}")
    device = next(model.parameters()).device
    x = x.to(device)
    net = _freeze_batch_statistics(model, x, inplace=_inplace)
    was_training = net.training
    x = x.clone().requires_grad_(True)
    try:
        y = net.eval()(x)
    finally:
        net.train(was_training)
    if y.shape != (x.shape[0], 1):
        raise ValueError(f"the model must map (N, 1) to (N, 1); it returned {tuple(y.shape)}")
    (grad,) = torch.autograd.grad(y.sum(), x)
    return grad[:, 0].detach().cpu().double().numpy()


def gradient_curves(depth: int, residual: bool = False, norm: str | None = None, seeds: Sequence[int] = (0,), *,
                    width: int = 64, n_points: int = 256, x_range: tuple[float, float] = (-2.0, 2.0),
                    bias_std: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``dy/dx`` over a grid of scalar inputs for freshly initialised networks, one per seed.

    Each network is ``make_mlp(1, 1, width, depth, residual=residual, norm=norm)`` with
    :func:`he_init_` (weights N(0, 2/fan_in), biases N(0, bias_std^2)), built from ``seed``.

    Returns:
        ``(x, g)``: ``x`` float64 ``(n_points,)`` evenly spaced over ``x_range``; ``g`` float64
        ``(len(seeds), n_points)``, row k the gradient curve of the network built from ``seeds[k]``.
    Raises:
        ValueError: bad depth, width, n_points, norm or range, or no seeds.
    """
    depth, width = _positive_int("depth", depth), _positive_int("width", width)
    if _positive_int("n_points", n_points) < 2:
        raise ValueError(f"n_points must be >= 2, got {n_points}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    lo, hi = (float(v) for v in x_range)
    if not lo < hi:
        raise ValueError(f"x_range must be (low, high) with low < high, got {x_range!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    x = np.linspace(lo, hi, n_points)
    curves = []
    for seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            net = he_init_(make_mlp(1, 1, width, depth, residual=residual, norm=norm), bias_std)
        curves.append(input_gradient(net, x, _inplace=True))  # our own network: no copy needed
    return x, np.stack(curves)


def correlation_length(r, dx: float = 1.0, threshold: float = 0.5) -> float:
    """The smallest lag at which an autocorrelation function drops below ``threshold``.

    Args:
        r: autocorrelation at lags 0, 1, 2, ... (a 1-D sequence; ``r[0]`` is 1).
        dx: the input distance of one lag (e.g. the grid spacing), > 0.
        threshold: in (0, 1); 0.5 gives the "half-correlation distance".
    Returns:
        ``tau * dx`` for the first lag ``tau`` with ``r[tau] < threshold``, as a float;
        ``math.inf`` if ``r`` never drops below it.
    Raises:
        ValueError: ``r`` is not 1-D or empty, ``dx <= 0`` or ``threshold`` outside (0, 1).
    """
    r = np.asarray(r, dtype=float)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"r must be a non-empty 1-D sequence, got shape {r.shape}")
    if not dx > 0:
        raise ValueError(f"dx must be > 0, got {dx!r}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    below = np.flatnonzero(r < threshold)
    return float(below[0] * dx) if below.size else math.inf


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def plot_gradient_curves(curves: Mapping[str, tuple], axes=None, standardise: bool = True):
    """One panel per network: its ``dy/dx`` against ``x``.

    Args:
        curves: dict label -> ``(x, g)`` with two 1-D sequences of equal length.
        axes: a sequence of at least ``len(curves)`` Axes, or None for a new row of panels.
        standardise: draw ``(g - mean) / std`` so that curves of very different scale compare
            (the shape is what matters; a constant curve is drawn as zeros).
    Returns:
        The list of Axes used.
    """
    import matplotlib.pyplot as plt

    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty dict label -> (x, g)")
    if axes is None:
        _, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 2.8), sharey=standardise, squeeze=False)
        axes = list(axes[0])
    axes = list(np.ravel(axes))
    if len(axes) < len(curves):
        raise ValueError(f"{len(curves)} curves need {len(curves)} axes, got {len(axes)}")
    for k, (ax, (label, pair)) in enumerate(zip(axes, curves.items())):
        x, g = (np.asarray(v, dtype=float) for v in pair)
        if x.ndim != 1 or x.shape != g.shape:
            raise ValueError(f"curve {label!r}: x and g must be 1-D of equal length, got {x.shape} and {g.shape}")
        if standardise:
            g = (g - g.mean()) / (g.std() if g.std() > 0 else 1.0)
        ax.plot(x, g, lw=0.9, color=plt.rcParams["axes.prop_cycle"].by_key()["color"][k % 8])
        ax.set(title=str(label), xlabel="input x")
    axes[0].set_ylabel("dy/dx, standardised" if standardise else "dy/dx")
    return axes


def plot_autocorrelations(acfs: Mapping[str, Sequence[float]], dx: float = 1.0, ax=None, threshold: float | None = 0.5,
                          styles: Mapping[str, dict] | None = None):
    """Autocorrelation functions against the input distance ``lag * dx``, one line each.

    Args:
        acfs: dict label -> 1-D sequence of autocorrelations at lags 0, 1, 2, ...
        dx: input distance of one lag.
        ax: Axes to draw into, or None for a new figure.
        threshold: draw a dotted horizontal line there (None: no line).
        styles: optional dict label -> keyword arguments for ``ax.plot`` (e.g. ``{"ls": "--"}``).
    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    if not isinstance(acfs, Mapping) or not acfs:
        raise ValueError("acfs must be a non-empty dict label -> autocorrelation values")
    if not dx > 0:
        raise ValueError(f"dx must be > 0, got {dx!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    for label, r in acfs.items():
        r = np.asarray(r, dtype=float)
        if r.ndim != 1:
            raise ValueError(f"autocorrelation {label!r} must be 1-D, got shape {r.shape}")
        ax.plot(np.arange(len(r)) * dx, r, label=str(label), **dict((styles or {}).get(label, {})))
    if threshold is not None:
        ax.axhline(threshold, color="0.5", ls=":", lw=1)
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set(xlabel="distance between the two inputs", ylabel="autocorrelation of dy/dx", ylim=(-0.4, 1.02))
    ax.legend(fontsize=8)
    return ax


# --------------------------------------------------------------------------------------------
# The unraveled view: gradient per path length
# --------------------------------------------------------------------------------------------
def residual_blocks(model: nn.Module) -> list[HiddenBlock]:
    """The residual blocks (``HiddenBlock`` with ``residual=True``) of ``model``, input side first.

    Raises:
        ValueError: the model has none.
    """
    blocks = [m for m in model.modules() if isinstance(m, HiddenBlock) and m.residual]
    if not blocks:
        raise ValueError("the model has no residual blocks: build it with make_mlp(..., residual=True)")
    return blocks


def _branch_vjp(block: HiddenBlock, h: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``v^T d(branch)/dh`` per example, where the branch is ``block(h) - h``."""
    h = h.detach().requires_grad_(True)
    with torch.enable_grad():
        branch = block(h) - h
        (out,) = torch.autograd.grad(branch, h, grad_outputs=v)
    return out


def path_gradients(model: MLP, x: torch.Tensor, y: torch.Tensor, n_samples: int = 20,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """How much of the loss gradient flows through paths of each length (Veit et al., 2016).

    A residual block computes ``h + f(h)``, so its Jacobian is ``I + J_f`` and the product over n
    blocks expands into 2^n terms, one per *path*: a path of length l uses the branches ``f`` of l
    blocks and the skips of the others. This function splits ``dL/dh`` at the input of the first
    residual block into those terms, in evaluation mode, at the examples ``x``.

    Args:
        model: an :class:`~course_utils.nets.MLP` with residual blocks (every block but the first).
        x, y: a batch ``(N, in_features)`` and its class labels ``(N,)``; L is the cross-entropy.
        n_samples: single paths sampled per length for ``per_path``.
        seed: seed of that sampling.
    Returns:
        dict of float64 arrays indexed by the path length l = 0 .. n (n residual blocks):
        ``length``; ``total`` the norm of the summed gradient of all paths of length l (mean over
        the examples); ``per_path`` the norm of the gradient along one path of length l (mean over
        ``n_samples`` random paths and the examples); and ``gradient`` ``(N, width)``, the per-length
        contributions summed as vectors -- exactly the gradient ``dL/dh`` autograd computes. The model
        is left as it was (mode included).
    """
    blocks = residual_blocks(model)
    n = len(blocks)
    _positive_int("n_samples", n_samples)
    was_training = model.training
    model.eval()
    try:
        inputs: list[torch.Tensor] = []
        handles = [b.register_forward_hook(lambda _m, inp, _out: inputs.append(inp[0].detach())) for b in blocks]
        try:
            with torch.enable_grad():
                h_out: list[torch.Tensor] = []
                hook = blocks[-1].register_forward_hook(lambda _m, _inp, out: h_out.append(out))
                logits = model(x)
                hook.remove()
                (upstream,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), h_out[0])
        finally:
            for h in handles:
                h.remove()
        # total: v[l] = sum over paths of length l of (upstream^T product of branch Jacobians)
        v = [upstream] + [torch.zeros_like(upstream) for _ in range(n)]
        for b in reversed(range(n)):
            for length in range(n - b, 0, -1):  # at most n - b branches above block b
                v[length] = v[length] + _branch_vjp(blocks[b], inputs[b], v[length - 1])
        total = np.array([float(t.norm(dim=1).mean()) for t in v])
        rng = np.random.default_rng(seed)
        per_path = np.zeros(n + 1)
        for length in range(n + 1):
            norms = []
            for _ in range(n_samples if 0 < length < n else 1):
                chosen = set(rng.choice(n, size=length, replace=False).tolist())
                g = upstream
                for b in reversed(range(n)):
                    if b in chosen:
                        g = _branch_vjp(blocks[b], inputs[b], g)
                norms.append(float(g.norm(dim=1).mean()))
            per_path[length] = np.mean(norms)
    finally:
        model.train(was_training)
    gradient = torch.stack(v).sum(0).detach().cpu().double().numpy()
    return {"length": np.arange(n + 1, dtype=float), "total": total, "per_path": per_path, "gradient": gradient}


# --------------------------------------------------------------------------------------------
# The widget
# --------------------------------------------------------------------------------------------
_NORM_LABELS = {"none": None, "batch norm": "batch", "layer norm": "layer"}


def shattering_explorer(autocorrelation: Callable, depths: Sequence[int] = (1, 2, 4, 8, 16, 24, 32, 50),
                        seeds: Sequence[int] = (0, 1, 2), *, width: int = 64, n_points: int = 256,
                        max_lag: int = 64, bias_std: float = 1.0, progress: bool = True) -> App:
    """Depth x skip connections x normalisation -> ``dy/dx`` and its autocorrelation.

    All curves are computed when the app is built (every depth, with and without skips, without
    normalisation, with batch norm and with layer norm, one network per seed; see
    :func:`gradient_curves`); moving a control only looks them up and redraws.

    Args:
        autocorrelation: ``autocorrelation(g, max_lag)`` for a 1-D float tensor ``g`` returns the
            autocorrelations at lags 0..max_lag (any 1-D sequence). The app averages them over seeds.
        depths: the depths offered, positive ints.
        seeds: one network per seed and setting.
        width, n_points, bias_std: as in :func:`gradient_curves` (inputs evenly spaced in [-2, 2]).
        max_lag: the largest lag shown, < n_points.
        progress: show a progress bar while computing.
    Returns:
        The :class:`~course_utils.widgets.App`; ``app.state.data`` holds ``x``, ``g`` (seed 0's
        curve), ``acf`` (the mean autocorrelation), ``acf_shallow`` (depth 1's) and ``length`` (the
        correlation length, :func:`correlation_length` with threshold 0.5, in input units).
    """
    from matplotlib.figure import Figure
    from tqdm.auto import tqdm

    if not callable(autocorrelation):
        raise TypeError(f"autocorrelation must be a function, got {type(autocorrelation).__name__}")
    depths = sorted({_positive_int("depth", d) for d in depths})
    if not depths:
        raise ValueError("depths is empty")
    if not 0 < max_lag < n_points:
        raise ValueError(f"max_lag must be in 1 .. n_points - 1 = {n_points - 1}, got {max_lag!r}")
    settings = [(d, r, n) for d in depths for r in (False, True) for n in _NORM_LABELS.values()]
    curves = {}
    for d, r, n in tqdm(settings, desc="gradient curves", disable=not progress):
        x, curves[(d, r, n)] = gradient_curves(d, r, n, seeds, width=width, n_points=n_points, bias_std=bias_std)
    dx = float(x[1] - x[0])
    acf_cache: dict = {}

    def mean_acf(key):
        if key not in acf_cache:
            rows = [np.asarray(autocorrelation(torch.as_tensor(g), max_lag), dtype=float) for g in curves[key]]
            acf_cache[key] = np.mean(rows, axis=0)
        return acf_cache[key]

    def compute(depth, residual, normalisation):
        key = (depth, bool(residual), _NORM_LABELS[normalisation])
        acf = mean_acf(key)
        return {"x": x, "g": curves[key][0], "acf": acf, "acf_shallow": mean_acf((depths[0], False, None)),
                "length": correlation_length(acf, dx), "dx": dx}

    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax_g, ax_r = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    (line_g,) = ax_g.plot([], [], lw=0.9, color=COLOR["blue"])
    ax_g.set(xlim=(x[0], x[-1]), ylim=(-4.5, 4.5), xlabel="input x", ylabel="dy/dx, standardised")
    lags = np.arange(max_lag + 1) * dx
    (line_shallow,) = ax_r.plot(lags, np.zeros_like(lags), ls="--", color="0.5", label=f"depth {depths[0]}, plain")
    (line_r,) = ax_r.plot(lags, np.zeros_like(lags), color=COLOR["vermillion"], label="this network")
    ax_r.axhline(0.5, color="0.5", ls=":", lw=1)
    ax_r.axhline(0.0, color="0.7", lw=0.8)
    ax_r.set(xlim=(0, lags[-1]), ylim=(-0.4, 1.02), xlabel="distance between the two inputs",
             ylabel=f"autocorrelation (mean of {len(list(seeds))} nets)")
    legend = ax_r.legend(fontsize=8, loc="upper right")
    redraw = FastRedraw(fig, moving=[line_g, line_shallow, line_r, ax_g.title, ax_r.title, legend])

    def draw(data, values):
        g = data["g"]
        std = g.std()
        line_g.set_data(data["x"], (g - g.mean()) / (std if std > 0 else 1.0))
        line_shallow.set_ydata(data["acf_shallow"])
        line_r.set_ydata(data["acf"])
        skip = "with skips" if values["residual"] else "no skips"
        ax_g.set_title(f"dy/dx of one network: depth {values['depth']}, {skip}, {values['normalisation']}")
        length = data["length"]
        ax_r.set_title("correlation drops below 0.5 at distance " +
                       (f"{length:.3f}" if math.isfinite(length) else f"> {lags[-1]:.2f}"))
        return redraw.png()

    controls = {
        "depth": dropdown(depths, value=depths[-1], description="depth"),
        "residual": toggle("skip connections", False),
        "normalisation": dropdown(list(_NORM_LABELS), value="none", description="normalisation"),
    }
    return App(controls, compute, draw, title="Shattered gradients: depth x skips x normalisation", cache=True)
