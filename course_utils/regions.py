"""Linear regions of ReLU networks on a 2-D input plane: grids, hinge lines, region maps, an explorer.

A ReLU network is piecewise linear: each hidden unit's pre-activation is zero along a *hinge*
(a line when there are two inputs), and the points that switch on the same set of units form a
convex region on which the network is one linear function. What lesson 08 needs to look at them:

- :func:`make_grid` -- a regular grid of points covering a rectangle, ready for ``imshow``;
- :func:`lines_from_angles` / :func:`random_shallow` -- first-layer parameters ``theta`` of shape
  ``(D, Di + 1)`` (column 0 is the bias) from line angles and offsets, or at random;
- :func:`hinge_segment` -- the part of one unit's hinge line inside a rectangle;
- :func:`relu_mlp`, :func:`review_network`, :func:`tent_network` -- plain ``Linear``/``ReLU`` stacks: random,
  the review lecture's 2-3-1 network, and the tent map composed ``L`` times;
- :func:`region_map` -- the on/off pattern of every hidden unit of such a network at each point, an integer
  label per distinct pattern and the number of patterns, for colouring a picture and counting the regions
  of deep networks;
- :func:`plot_regions`, :func:`plot_output` -- the region map and the output as pictures;
- :func:`regions_explorer` -- an :class:`~course_utils.widgets.App`: three hinge lines set by
  sliders, a depth control, and the regions and output redrawn in well under 100 ms.

Conventions: points are rows ``(x1, x2)``; a grid of ``shape == (ny, nx)`` lists its points row by
row from the bottom (``x2 = ymin``) with ``x1`` running fastest, so ``values.reshape(shape)`` can be
shown with ``imshow(..., origin="lower", extent=extent)``. A unit is *on* where its pre-activation
is strictly positive (``z > 0``); at ``z = 0`` ReLU outputs 0, like an off unit.

What is NOT here, on purpose: the lesson's exercises (a shallow network's forward pass from ``theta`` and
``phi``, its activation pattern, counting distinct patterns). :func:`region_map` analyses only networks that
this module built (and :func:`course_utils.neural_fields.fit_full_batch` trained); a network whose weights were
set by hand -- e.g. to a student's ``theta`` -- is refused with a message saying so.
"""
from __future__ import annotations

import math
import weakref
from typing import NamedTuple, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from torch import nn

from course_utils.plots import COLOR, COLORS, FastRedraw
from course_utils.widgets import App, slider

__all__ = [
    "Grid",
    "make_grid",
    "lines_from_angles",
    "random_shallow",
    "hinge_segment",
    "relu_mlp",
    "review_network",
    "tent_network",
    "RegionMap",
    "region_map",
    "REGION_CMAP",
    "plot_regions",
    "plot_output",
    "regions_explorer",
    "draw_network",
]

# Okabe-Ito colours, lightened so hinge lines and text stay readable on top: a qualitative map.
_BASE = [COLOR[k] for k in ("sky_blue", "orange", "green", "yellow", "blue", "vermillion", "purple")]


def _lighten(hex_colour: str, amount: float) -> tuple[float, float, float]:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return tuple(rgb + (1 - rgb) * amount)


#: Colour map for region labels: 14 distinguishable light colours, cycled (label % 14).
REGION_CMAP = ListedColormap([_lighten(c, 0.35) for c in _BASE] + [_lighten(c, 0.7) for c in _BASE],
                             name="regions")


class Grid(NamedTuple):
    """A regular grid: ``points`` (ny * nx, 2), ``shape`` (ny, nx) and ``extent`` (xmin, xmax, ymin, ymax)."""

    points: torch.Tensor
    shape: tuple[int, int]
    extent: tuple[float, float, float, float]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _extent(extent) -> tuple[float, float, float, float]:
    if isinstance(extent, (int, float)) and not isinstance(extent, bool):
        extent = (-float(extent), float(extent), -float(extent), float(extent))
    if not isinstance(extent, (tuple, list)) or len(extent) != 4:
        raise ValueError(f"extent must be a number L (meaning [-L, L]^2) or (xmin, xmax, ymin, ymax), got {extent!r}")
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    if not (math.isfinite(xmin + xmax + ymin + ymax) and xmin < xmax and ymin < ymax):
        raise ValueError(f"extent needs finite xmin < xmax and ymin < ymax, got {extent!r}")
    return xmin, xmax, ymin, ymax


def make_grid(extent=1.0, resolution=200, dtype=torch.float64) -> Grid:
    """A regular grid of points covering a rectangle, both edges included.

    Args:
        extent: ``(xmin, xmax, ymin, ymax)``, or a number ``L`` for the square ``[-L, L]^2``.
        resolution: points per side, an integer ``n`` (an ``n x n`` grid) or a pair ``(ny, nx)``
            (``ny`` rows along ``x2``, ``nx`` columns along ``x1``), each >= 2.
        dtype: a floating torch dtype for the points.
    Returns:
        :class:`Grid` with ``points`` of shape ``(ny * nx, 2)``: row ``i * nx + j`` is
        ``(x1_j, x2_i)``, ``x1`` increasing with ``j`` and ``x2`` with ``i`` (row 0 at ``ymin``).
    Raises:
        ValueError: a bad extent or resolution.
    """
    xmin, xmax, ymin, ymax = _extent(extent)
    if isinstance(resolution, (tuple, list)):
        if len(resolution) != 2:
            raise ValueError(f"resolution must be an integer or a pair (ny, nx), got {resolution!r}")
        ny, nx = (_positive_int("resolution", r) for r in resolution)
    else:
        ny = nx = _positive_int("resolution", resolution)
    if min(ny, nx) < 2:
        raise ValueError(f"a grid needs at least 2 points per side, got resolution {resolution!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype must be a floating torch dtype, got {dtype!r}")
    x1 = torch.linspace(xmin, xmax, nx, dtype=dtype)
    x2 = torch.linspace(ymin, ymax, ny, dtype=dtype)
    rows, cols = torch.meshgrid(x2, x1, indexing="ij")  # (ny, nx) each
    points = torch.stack([cols.reshape(-1), rows.reshape(-1)], dim=1)
    return Grid(points, (ny, nx), (xmin, xmax, ymin, ymax))


def lines_from_angles(angles: Sequence[float], offsets: Sequence[float]) -> torch.Tensor:
    """First-layer parameters whose hinge lines have the given normal angles and offsets.

    Unit ``d`` gets ``theta[d] = (-offsets[d], cos angles[d], sin angles[d])``: its pre-activation
    ``theta_d0 + theta_d1 x1 + theta_d2 x2`` is the signed distance of ``x`` from its line, so the
    line lies ``offsets[d]`` from the origin along the unit normal at ``angles[d]`` (radians), and
    the unit is on (positive) on the side the normal points to.

    Returns:
        float64 tensor ``(D, 3)``.
    Raises:
        ValueError: different lengths, no lines, or non-finite numbers.
    """
    a = torch.as_tensor(angles, dtype=torch.float64).reshape(-1)
    o = torch.as_tensor(offsets, dtype=torch.float64).reshape(-1)
    if a.numel() == 0 or a.shape != o.shape:
        raise ValueError(f"angles and offsets need the same non-zero length, got {a.numel()} and {o.numel()}")
    if not bool(torch.isfinite(a).all() and torch.isfinite(o).all()):
        raise ValueError("angles and offsets must be finite numbers")
    return torch.stack([-o, torch.cos(a), torch.sin(a)], dim=1)


def random_shallow(hidden: int, inputs: int = 2, seed: int = 0, scale: float = 1.0):
    """Random parameters of a shallow network, in the review lecture's layout.

    Args:
        hidden: number of hidden units D >= 1.
        inputs: number of inputs Di >= 1.
        seed: seed of a private generator (the global random state is untouched).
        scale: standard deviation of every parameter, > 0.
    Returns:
        ``(theta, phi)``: float64 tensors ``(D, Di + 1)`` (column 0 is the bias ``theta_d0``) and
        ``(D + 1,)`` (entry 0 is the output bias ``phi_0``), entries normal with std ``scale``.
    """
    hidden, inputs = _positive_int("hidden", hidden), _positive_int("inputs", inputs)
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    g = torch.Generator().manual_seed(int(seed))
    theta = torch.randn(hidden, inputs + 1, generator=g, dtype=torch.float64) * scale
    phi = torch.randn(hidden + 1, generator=g, dtype=torch.float64) * scale
    return theta, phi


def hinge_segment(theta_row, extent):
    """The part of the line ``theta_row[0] + theta_row[1] x1 + theta_row[2] x2 = 0`` inside a rectangle.

    Args:
        theta_row: three numbers (bias, weight of x1, weight of x2).
        extent: ``(xmin, xmax, ymin, ymax)`` or a number ``L`` for ``[-L, L]^2``.
    Returns:
        ``((x1_a, x2_a), (x1_b, x2_b))``, the two end points, or ``None`` when the line misses the
        rectangle (or both weights are zero: then there is no line).
    """
    t = np.asarray(torch.as_tensor(theta_row, dtype=torch.float64).reshape(-1))
    if t.shape != (3,):
        raise ValueError(f"theta_row must hold 3 numbers (bias, w1, w2), got shape {t.shape}")
    b, w1, w2 = t
    xmin, xmax, ymin, ymax = _extent(extent)
    points = []
    if abs(w2) > 1e-12:
        for x1 in (xmin, xmax):
            x2 = -(b + w1 * x1) / w2
            if ymin - 1e-12 <= x2 <= ymax + 1e-12:
                points.append((x1, x2))
    if abs(w1) > 1e-12:
        for x2 in (ymin, ymax):
            x1 = -(b + w2 * x2) / w1
            if xmin - 1e-12 <= x1 <= xmax + 1e-12:
                points.append((x1, x2))
    unique = []
    for p in points:
        if all(abs(p[0] - q[0]) + abs(p[1] - q[1]) > 1e-9 for q in unique):
            unique.append(p)
    if len(unique) < 2:
        return None
    # the two points farthest apart (a line through a corner can give three)
    pairs = [(unique[i], unique[j]) for i in range(len(unique)) for j in range(i + 1, len(unique))]
    return max(pairs, key=lambda pq: (pq[0][0] - pq[1][0]) ** 2 + (pq[0][1] - pq[1][1]) ** 2)


def relu_mlp(widths: Sequence[int], seed: int = 0, dtype=torch.float64, init: str = "he") -> nn.Sequential:
    """A plain ``Linear -> ReLU -> ... -> Linear`` network.

    Args:
        widths: layer sizes from input to output, e.g. ``[2, 8, 8, 1]`` (two hidden layers of 8).
        seed: seed for the initial weights (the global random state is left as it was).
        dtype: parameter dtype.
        init: ``"he"`` (weights normal with variance 2 / fan_in, biases normal with std 0.1: every
            hidden layer's hinges cross the region near the origin) or ``"torch"`` (PyTorch's default).
    Returns:
        ``nn.Sequential`` of ``len(widths) - 1`` Linear layers with a ReLU after each but the last.
    """
    widths = [_positive_int("widths[i]", w) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths needs at least an input and an output size, got {widths!r}")
    if init not in ("he", "torch"):
        raise ValueError(f"init must be 'he' or 'torch', got {init!r}")
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            lin = nn.Linear(a, b).to(dtype)
            if init == "he":
                with torch.no_grad():
                    lin.weight.normal_(0.0, math.sqrt(2.0 / a))
                    lin.bias.normal_(0.0, 0.1)
            layers.append(lin)
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    _register(net)
    return net


# Networks this module built (and fit_full_batch trained), with a copy of their parameters: region_map
# refuses any other network, or one whose weights were changed since, so that it cannot be turned into the
# answer of the lesson's exercises (a hand-made network with a student's theta).
_BUILT: "weakref.WeakKeyDictionary[nn.Module, list[torch.Tensor]]" = weakref.WeakKeyDictionary()


def _register(net: nn.Module) -> None:
    _BUILT[net] = [p.detach().cpu().clone() for p in net.parameters()]


def _intact(net) -> bool:
    """True if ``net`` was built here and its parameters are exactly those recorded."""
    try:
        saved = _BUILT.get(net)
    except TypeError:  # not weak-referenceable: certainly not ours
        return False
    if saved is None:
        return False
    params = list(net.parameters())
    return len(params) == len(saved) and all(
        p.shape == q.shape and torch.equal(p.detach().cpu(), q) for p, q in zip(params, saved))


def _linear_relu_layers(model: nn.Module) -> list[nn.Linear]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential of Linear and ReLU layers, got {type(model).__name__}")
    kinds = [type(m) for m in model]
    linears = [m for m in model if isinstance(m, nn.Linear)]
    expected = []
    for i in range(len(linears)):
        expected.append(nn.Linear)
        if i < len(linears) - 1:
            expected.append(nn.ReLU)
    if kinds != expected:
        names = ", ".join(k.__name__ for k in kinds)
        raise TypeError(f"model must alternate Linear and ReLU and end with a Linear (like relu_mlp); got {names}")
    return linears


class RegionMap(NamedTuple):
    """What :func:`region_map` finds: ``patterns`` (N, H) bool, ``labels`` (N,) int64 and ``count``."""

    patterns: torch.Tensor
    labels: torch.Tensor
    count: int


@torch.no_grad()
def region_map(net: nn.Sequential, x: torch.Tensor) -> RegionMap:
    """The activation pattern of every hidden unit at each point, and the regions they define.

    Works only on a network built by this module (:func:`relu_mlp`, :func:`review_network`,
    :func:`tent_network`) and left as it was, or trained with
    :func:`course_utils.neural_fields.fit_full_batch`: a network with hand-set weights is refused.

    Args:
        net: such a network (``Linear``/``ReLU`` layers, ending with a ``Linear``).
        x: tensor ``(N, in_features)``.
    Returns:
        :class:`RegionMap`: ``patterns`` bool ``(N, H)`` (``H`` = all hidden units, layer 1's first; True
        where the unit's pre-activation is > 0), ``labels`` int64 ``(N,)`` in ``0 .. count - 1`` (equal
        patterns, equal labels) and ``count``, the number of distinct patterns among the points.
    Raises:
        TypeError: not a network this module built, or one whose weights were changed by hand.
        ValueError: ``x`` of the wrong shape.
    """
    if not _intact(net):
        raise TypeError("region_map analyses only networks made by course_utils.regions (relu_mlp, review_network, "
                        "tent_network), unchanged or trained with fit_full_batch; this one was made or changed by "
                        "hand. For your own theta, use your activation_pattern and count_regions.")
    linears = _linear_relu_layers(net)
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != linears[0].in_features:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor (N, {linears[0].in_features}), got {shape}")
    weight = linears[0].weight
    h = x.to(weight.device, weight.dtype)
    patterns = []
    for lin in linears[:-1]:
        z = lin(h)
        patterns.append(z > 0)
        h = torch.relu(z)
    on = torch.cat(patterns, dim=1).cpu() if patterns else torch.zeros(len(x), 0, dtype=torch.bool)
    if on.shape[1] == 0:
        return RegionMap(on, torch.zeros(len(on), dtype=torch.int64), int(len(on) > 0))
    if on.shape[1] <= 62:  # fast path: each row as one integer, bit d = unit d
        codes = (on.to(torch.int64) * 2 ** torch.arange(on.shape[1], dtype=torch.int64)).sum(dim=1)
        values, labels = torch.unique(codes, return_inverse=True)
        return RegionMap(on, labels.reshape(-1), int(values.numel()))
    rows, labels = torch.unique(on, dim=0, return_inverse=True)
    return RegionMap(on, labels.reshape(-1), int(rows.shape[0]))


def review_network() -> nn.Sequential:
    """The review lecture's network with concrete numbers: float64 ``Linear(2, 3) -> ReLU -> Linear(3, 1)``.

    Hidden unit ``d`` computes ``relu(theta_d0 + theta_d1 x1 + theta_d2 x2)`` with ``theta`` =
    ``[[0.25, 1, 0.5], [-0.25, -0.5, 1], [0.5, -0.75, -1]]`` (bias first) and the output is
    ``0.1 + 1.0 h1 - 1.5 h2 + 0.8 h3``. Its three hinge lines cut the plane into 7 regions.
    """
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(torch.float64)
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.5], [-0.5, 1.0], [-0.75, -1.0]]))
        net[0].bias.copy_(torch.tensor([0.25, -0.25, 0.5]))
        net[2].weight.copy_(torch.tensor([[1.0, -1.5, 0.8]]))
        net[2].bias.fill_(0.1)
    _register(net)
    return net


def tent_network(L: int) -> nn.Sequential:
    """The tent map ``t(x) = 2 relu(x) - 4 relu(x - 1/2)`` composed ``L`` times, as one ReLU network.

    ``L`` hidden layers of 2 units (float64): layer 1 computes ``(x, x - 1/2)``, every later hidden layer
    ``(t, t - 1/2)`` of the previous tent, the output ``t = 2 h1 - 4 h2``. On ``[0, 1]`` the result has
    ``2**L`` linear pieces, with hinges at the multiples of ``2**-L``.
    """
    L = _positive_int("L", L)
    net = nn.Sequential(*[m for k in range(L) for m in (nn.Linear(1 if k == 0 else 2, 2), nn.ReLU())],
                        nn.Linear(2, 1)).to(torch.float64)
    with torch.no_grad():
        for k, lin in enumerate(m for m in net if isinstance(m, nn.Linear)):
            if k == 0:            # x -> (x, x - 1/2)
                lin.weight.copy_(torch.tensor([[1.0], [1.0]]))
                lin.bias.copy_(torch.tensor([0.0, -0.5]))
            elif k < L:           # previous (h1, h2) -> t = 2 h1 - 4 h2 -> (t, t - 1/2)
                lin.weight.copy_(torch.tensor([[2.0, -4.0], [2.0, -4.0]]))
                lin.bias.copy_(torch.tensor([0.0, -0.5]))
            else:                 # output: t = 2 h1 - 4 h2
                lin.weight.copy_(torch.tensor([[2.0, -4.0]]))
                lin.bias.zero_()
    _register(net)
    return net


def _image(values, shape, name) -> np.ndarray:
    arr = np.asarray(torch.as_tensor(values).detach().cpu()) if isinstance(values, torch.Tensor) else np.asarray(values)
    if shape is not None:
        if arr.size != shape[0] * shape[1]:
            raise ValueError(f"{name} has {arr.size} entries, but the grid shape {shape} needs {shape[0] * shape[1]}")
        arr = arr.reshape(shape)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (ny, nx) or come with shape=(ny, nx), got shape {arr.shape}")
    return arr


def plot_regions(ax, labels, extent, shape=None, theta=None, title: str | None = None):
    """Colour a region map and draw the first layer's hinge lines on top.

    Args:
        ax: a matplotlib Axes.
        labels: integer labels ``(ny, nx)``, or ``(ny * nx,)`` with ``shape=(ny, nx)`` (e.g. from
            :func:`region_map` on a :func:`make_grid` grid).
        extent: the grid's ``(xmin, xmax, ymin, ymax)``.
        theta: optional ``(D, 3)`` first-layer parameters; their hinge lines are drawn dashed.
        title: optional title.
    Returns:
        The ``AxesImage``.
    """
    extent = _extent(extent)
    img = _image(labels, shape, "labels")
    im = ax.imshow(img % REGION_CMAP.N, cmap=REGION_CMAP, vmin=-0.5, vmax=REGION_CMAP.N - 0.5, origin="lower",
                   extent=extent, interpolation="nearest", aspect="auto")
    if theta is not None:
        for d, row in enumerate(torch.as_tensor(theta, dtype=torch.float64)):
            seg = hinge_segment(row, extent)
            if seg is not None:
                (xa, ya), (xb, yb) = seg
                ax.plot([xa, xb], [ya, yb], "--", color=COLORS[d % len(COLORS)] if d else COLOR["black"], lw=1.5)
    ax.set(xlim=extent[:2], ylim=extent[2:], xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    return im


def plot_output(ax, values, extent, shape=None, title: str | None = None, colorbar: bool = True, levels: int = 12):
    """Show a network's output on a grid as a heat map with contour lines.

    Flat (linear) pieces show up as straight, evenly spaced contour lines that bend at the hinges.

    Args:
        ax: a matplotlib Axes.
        values: outputs ``(ny, nx)``, or ``(ny * nx,)`` with ``shape=(ny, nx)``.
        extent: the grid's ``(xmin, xmax, ymin, ymax)``.
        colorbar: add a colour bar labelled "output y".
        levels: number of contour lines (0 for none).
    Returns:
        The ``AxesImage``.
    """
    extent = _extent(extent)
    img = _image(values, shape, "values")
    im = ax.imshow(img, cmap="cividis", origin="lower", extent=extent, aspect="auto")
    if levels and np.ptp(img) > 0:
        ny, nx = img.shape
        xs, ys = np.linspace(*extent[:2], nx), np.linspace(*extent[2:], ny)
        ax.contour(xs, ys, img, levels=levels, colors="white", linewidths=0.6, alpha=0.7)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8, label="output y")
    ax.set(xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    return im


# --------------------------------------------------------------------------------------------
# The explorer
# --------------------------------------------------------------------------------------------
_EXPLORER_EXTENT = (-2.0, 2.0, -2.0, 2.0)
_EXPLORER_GRID = make_grid(_EXPLORER_EXTENT, 121)
_EXPLORER_NETS: dict = {}  # (depth, seed) -> network whose first layer explorer_network overwrites


def explorer_network(angles, offsets, depth: int = 1, seed: int = 3) -> nn.Sequential:
    """The explorer's network: layer 1 from three hinge lines, then ``depth - 1`` fixed layers of 3 units.

    Layer 1's hinges are :func:`lines_from_angles` (exactly three lines); every later hidden layer (3 units)
    and the output layer have fixed random weights (He scale, from ``seed``), so only the first layer moves.
    For speed the network is cached per ``(depth, seed)``: a later call overwrites the first layer of the
    network an earlier call returned. (Its first layer is set by hand, so :func:`region_map` refuses it.)
    """
    depth = _positive_int("depth", depth)
    theta = lines_from_angles(angles, offsets)
    if len(theta) != 3:
        raise ValueError(f"the explorer has exactly three hinge lines, got {len(theta)}")
    key = (depth, int(seed))
    if key not in _EXPLORER_NETS:
        _EXPLORER_NETS[key] = relu_mlp([2] + [3] * depth + [1], seed=seed)
    net = _EXPLORER_NETS[key]
    with torch.no_grad():
        net[0].weight.copy_(theta[:, 1:])
        net[0].bias.copy_(theta[:, 0])
    return net


def explorer_data(angles, offsets, depth: int = 1, seed: int = 3) -> dict:
    """Regions and output of :func:`explorer_network` on the explorer's 121 x 121 grid of ``[-2, 2]^2``.

    Returns:
        dict with ``labels`` (121, 121) int64, ``n_regions``, ``output`` (121, 121) float64, ``theta``
        (3, 3) first-layer parameters, ``extent`` and ``depth``.
    """
    grid = _EXPLORER_GRID
    net = explorer_network(angles, offsets, depth, seed)
    _register(net)  # for this one call: the explorer set the first layer itself
    try:
        regions = region_map(net, grid.points)
    finally:
        _BUILT.pop(net, None)
    with torch.no_grad():
        out = net(grid.points).reshape(grid.shape)
    return {"labels": regions.labels.reshape(grid.shape), "n_regions": regions.count, "output": out, "depth": depth,
            "theta": lines_from_angles(angles, offsets), "extent": grid.extent}


def regions_explorer(depth: int = 1, seed: int = 3) -> App:
    """Drag three hinge lines and see the regions and the output change; a depth slider adds layers.

    Controls: for each unit ``d = 1, 2, 3`` the angle of its line's normal (degrees) and its offset
    from the origin; ``depth``, the number of hidden layers of 3 units (layers 2 and up are fixed
    random layers). Left: the input plane coloured by activation pattern (all layers), with layer 1's
    hinge lines dashed; right: the output ``y`` with contour lines. Each update computes on a
    121 x 121 grid and blits two images (:class:`~course_utils.plots.FastRedraw`): tens of ms.
    ``app.state.data`` is the dict of :func:`explorer_data`.
    """
    defaults = [(20, 0.3), (110, -0.2), (235, 0.5)]
    controls = {}
    for d, (angle, offset) in enumerate(defaults, start=1):
        controls[f"angle{d}"] = slider(0, 360, 5, angle, f"unit {d}: angle of normal (°)", expensive=False)
        controls[f"offset{d}"] = slider(-1.5, 1.5, 0.05, offset, f"unit {d}: offset", expensive=False)
    controls["depth"] = slider(1, 4, 1, _positive_int("depth", depth), "hidden layers (3 units each)",
                               expensive=False)

    fig = Figure(figsize=(9.5, 3.9), dpi=80, layout="constrained")
    ax_r, ax_o = fig.subplots(1, 2)
    first = explorer_data([a for a, _ in defaults], [o for _, o in defaults], depth=depth, seed=seed)
    extent = first["extent"]
    # images are coloured here, through lookup tables, and handed to matplotlib as RGB: faster to blit
    region_lut = (np.array(REGION_CMAP.colors) * 255).astype(np.uint8)
    output_lut = (plt.get_cmap("cividis")(np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    blank = np.zeros((*_EXPLORER_GRID.shape, 3), dtype=np.uint8)
    im_r = ax_r.imshow(blank, origin="lower", extent=extent, interpolation="nearest", aspect="auto")
    unit_colours = [COLOR["black"], COLOR["vermillion"], COLOR["blue"]]
    lines = [ax_r.plot([], [], "--", color=c, lw=1.8)[0] for c in unit_colours]
    proxies = [Line2D([], [], linestyle="--", color=c, lw=1.8) for c in unit_colours]
    ax_r.legend(proxies, ["unit 1", "unit 2", "unit 3"], loc="upper right", fontsize=8, framealpha=0.9)
    ax_r.set(xlim=extent[:2], ylim=extent[2:], xlabel="$x_1$", ylabel="$x_2$")
    im_o = ax_o.imshow(blank, origin="lower", extent=extent, interpolation="nearest", aspect="auto")
    scale = plt.cm.ScalarMappable(cmap="cividis", norm=plt.Normalize(0.0, 1.0))
    bar = fig.colorbar(scale, ax=ax_o, shrink=0.8, label="output y (rescaled to its range)")
    bar.set_ticks([0.0, 1.0], labels=["min", "max"])
    ax_o.set(xlabel="$x_1$", ylabel="$x_2$")
    title_r = ax_r.set_title(" ")
    title_o = ax_o.set_title(" ")
    redraw = FastRedraw(fig, moving=[im_r, *lines, im_o, title_r, title_o])

    def compute(**values):
        angles = [math.radians(values[f"angle{d}"]) for d in (1, 2, 3)]
        offsets = [values[f"offset{d}"] for d in (1, 2, 3)]
        return explorer_data(angles, offsets, depth=values["depth"], seed=seed)

    def draw(data, values):
        im_r.set_data(region_lut[data["labels"].numpy() % REGION_CMAP.N])
        for line, row in zip(lines, data["theta"]):
            seg = hinge_segment(row, extent)
            line.set_data(*(([seg[0][0], seg[1][0]], [seg[0][1], seg[1][1]]) if seg else ([], [])))
        out = data["output"].numpy()
        low, high = float(out.min()), float(out.max())
        level = (out - low) / (high - low) if high > low else np.zeros_like(out)
        im_o.set_data(output_lut[np.clip((level * 255).round().astype(int), 0, 255)])
        title_o.set_text(f"output y, from {low:.2f} to {high:.2f}")
        extra = " (at most 7 with one layer)" if data["depth"] == 1 else ""
        title_r.set_text(f"{data['n_regions']} regions in view{extra}, {data['depth']} hidden layer(s)")
        return redraw.png()

    return App(controls, compute, draw, title="Hinge lines, linear regions and the output", cache=False)


def draw_network(ax, layers: Sequence[int] = (2, 3, 1), labels: Sequence[str] | None = None,
                 edge_labels: bool = True) -> None:
    """Draw a fully connected network as circles and arrows (inputs left, output right).

    Args:
        ax: a matplotlib Axes (its frame is switched off).
        layers: units per layer, input first, e.g. ``(2, 3, 1)``; at most 8 per layer.
        labels: optional prefix per layer for the unit names, default ``x``, ``h`` (and ``h^(k)``
            for later hidden layers) and ``y``.
        edge_labels: write the weight names ``theta_dj`` on a shallow network's first-layer arrows.
    """
    layers = [_positive_int("layers[i]", n) for n in layers]
    if len(layers) < 2 or max(layers) > 8:
        raise ValueError(f"layers needs 2 or more layers of 1..8 units, got {layers!r}")
    if labels is None:
        labels = ["x"] + (["h"] if len(layers) == 3 else [f"h^{{({k})}}" for k in range(1, len(layers) - 1)]) + ["y"]
    if len(labels) != len(layers):
        raise ValueError(f"labels needs one entry per layer ({len(layers)}), got {len(labels)}")
    pos = []
    for i, n in enumerate(layers):
        ys = np.linspace(-(n - 1) / 2, (n - 1) / 2, n) if n > 1 else np.zeros(1)
        pos.append([(i * 2.0, -y) for y in ys])
    for i in range(len(layers) - 1):
        for a, (xa, ya) in enumerate(pos[i]):
            for b, (xb, yb) in enumerate(pos[i + 1]):
                ax.annotate("", xy=(xb - 0.25, yb), xytext=(xa + 0.25, ya),
                            arrowprops=dict(arrowstyle="->", color="0.45", lw=1.0))
                if edge_labels and i == 0 and len(layers) == 3:
                    t = 0.72  # near the hidden unit, where the arrows no longer cross
                    ax.text(xa + (xb - xa) * t, ya + (yb - ya) * t + 0.06, f"$\\theta_{{{b + 1}{a + 1}}}$",
                            fontsize=7, color=COLOR["blue"], ha="center")
    for i, layer in enumerate(pos):
        for k, (x, y) in enumerate(layer):
            ax.add_patch(plt.Circle((x, y), 0.25, facecolor="white", edgecolor="black", zorder=3))
            name = labels[i] if layers[i] == 1 and i == len(layers) - 1 else f"{labels[i]}_{{{k + 1}}}"
            ax.text(x, y, f"${name}$", ha="center", va="center", zorder=4, fontsize=10)
    ax.set_xlim(-0.6, 2.0 * (len(layers) - 1) + 0.6)
    top = (max(layers) - 1) / 2 + 0.6
    ax.set_ylim(-top, top)
    ax.set_aspect("equal")
    ax.axis("off")
