"""Lesson 05's explorer: batch norm × learning rate × depth, browsed over precomputed training runs.

The lesson trains a grid of deep MLPs once; the app only looks runs up, so a slider move redraws in
tens of milliseconds. Each setting shows the training loss (the other batch-norm setting dashed) and
two heat maps of every hidden block's activations, before and after training::

    runs[(norm, lr, depth)] = {"history": fit(...), "hist_init": (hist, zeros), "hist_final": (hist, zeros)}
    app = bn_explorer(runs, lrs=[0.01, 0.1, 1, 10], depths=[4, 12, 20], hist_bins=np.linspace(-4, 2, 49))
    app                                   # in a notebook: the widget
    app.update(batch_norm=False, lr=10, depth=20).data["diverged"]

``norm`` is ``None`` (no normalisation) or ``"batch"``; ``hist`` is a ``(depth, len(hist_bins) - 1)``
array of fractions of all entries per bin of log10 |activation| and ``zeros`` the fraction of exact
zeros per layer (what ``activation_histograms`` in the lesson returns).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_utils.plots import FastRedraw
from course_utils.reproducibility import fast_mode
from course_utils.widgets import App, slider, toggle

__all__ = ["smooth", "nearest", "bn_explorer"]


def smooth(values: Sequence[float], k: int = 10) -> np.ndarray:
    """Moving average over ``k`` steps of a loss curve; the curve stops at its first NaN or inf.

    Returns an array of ``len(values) - k + 1`` averages (or the finite values themselves if fewer than ``k``).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    v = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~np.isfinite(v))
    v = v[: bad[0]] if len(bad) else v
    if len(v) < k:
        return v
    return np.convolve(v, np.ones(k) / k, mode="valid")


def nearest(values: Sequence[float], v: float, log: bool = False) -> float:
    """The element of ``values`` closest to ``v`` (on a log scale if ``log``; all values > 0 then)."""
    if not len(values):
        raise ValueError("values is empty")
    if log and (v <= 0 or min(values) <= 0):
        raise ValueError("on a log scale every value must be > 0")
    key = (lambda u: abs(math.log10(u) - math.log10(v))) if log else (lambda u: abs(u - v))
    return min(values, key=key)


def bn_explorer(runs: Mapping, lrs: Sequence[float], depths: Sequence[int], hist_bins: Sequence[float]) -> App:
    """An :class:`~course_utils.widgets.App` over precomputed runs (see the module docstring).

    Args:
        runs: ``{(norm, lr, depth): run}`` for ``norm`` in ``(None, "batch")`` and every ``lr``, ``depth``.
        lrs: the learning rates of the grid (> 0); the slider is logarithmic and snaps to the nearest.
        depths: the depths of the grid (at least two, evenly spaced).
        hist_bins: the bin edges of log10 |activation| used for the heat maps.
    Returns:
        The app, with controls ``batch_norm`` (bool), ``lr`` and ``depth``.
    Raises:
        ValueError: a run of the grid is missing, or fewer than two depths.
    """
    lrs, depths, bins = list(lrs), list(depths), np.asarray(hist_bins, dtype=float)
    if len(depths) < 2:
        raise ValueError(f"depths needs at least two values, got {depths}")
    missing = [(n, lr, d) for n in (None, "batch") for lr in lrs for d in depths if (n, lr, d) not in runs]
    if missing:
        raise ValueError(f"runs has no entry for {missing[:3]}{' ...' if len(missing) > 3 else ''}")

    def lookup(batch_norm, lr, depth):
        lr, depth = nearest(lrs, lr, log=True), nearest(depths, depth)
        this = runs[("batch" if batch_norm else None, lr, depth)]
        other = runs[(None if batch_norm else "batch", lr, depth)]
        h = this["history"]
        return {"lr": lr, "depth": depth, "this": this, "other": other, "diverged": h.diverged,
                "val_acc": float("nan") if h.diverged else h.val_acc[-1]}

    # One persistent figure whose axes never change: only curves, heat maps, titles and legend are redrawn
    # (FastRedraw). The layer axis spans the deepest network, so a shallower one fills only the top rows.
    max_depth = max(depths)
    max_steps = max(len(smooth(run["history"].step_loss)) for run in runs.values())
    fig = Figure(figsize=(14, 3.9), dpi=80, layout="constrained")  # dpi 80 like the other apps: a smaller PNG
    ax_loss, ax_init, ax_final = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1]})
    this_line, = ax_loss.plot([], [], color="C0")
    other_line, = ax_loss.plot([], [], ls="--", color="C1")
    ax_loss.set(xlabel="SGD step", ylabel="loss (10-step average)", xlim=(0, max_steps), ylim=(0, 3.5))
    legend = ax_loss.legend([this_line, other_line], ["batch norm", "no norm"], fontsize=8)
    images = {}
    for ax, key in ((ax_init, "hist_init"), (ax_final, "hist_final")):
        images[key] = ax.imshow(np.zeros((max_depth, len(bins) - 1)), aspect="auto", cmap="viridis", vmin=-4,
                                vmax=-0.5, extent=(bins[0], bins[-1], max_depth + 0.5, 0.5))
        ax.set(xlabel="log10 |activation|", ylabel="hidden layer", xlim=(bins[0], bins[-1]), ylim=(max_depth + 0.5, 0.5))
        ax.grid(False)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    suptitle = fig.suptitle(" ")
    # The legend's two entries take a few states only (which run is solid, which diverged): each state's
    # legend belongs to its background, drawn once and kept; an update blits curves, maps and titles over it.
    redraw = FastRedraw(fig, moving=[this_line, other_line, *images.values(), ax_loss.title, ax_init.title,
                                     ax_final.title, suptitle], backgrounds=8)

    def draw(data, values):
        bn_on = values["batch_norm"]
        for line, text, run, label in ((this_line, legend.get_texts()[0], data["this"], "batch norm" if bn_on else "no norm"),
                                       (other_line, legend.get_texts()[1], data["other"], "no norm" if bn_on else "batch norm")):
            curve = smooth(run["history"].step_loss)
            line.set_data(np.arange(len(curve)), np.minimum(curve, 3.4))
            text.set_text(label + (" (diverged)" if run["history"].diverged else ""))
        ax_loss.set_title(f"training loss, depth {data['depth']}, lr {data['lr']:g}")
        extent = (bins[0], bins[-1], data["depth"] + 0.5, 0.5)
        for ax, key, when in ((ax_init, "hist_init", "at initialisation"), (ax_final, "hist_final", "after training")):
            hist, zeros = data["this"][key]
            images[key].set_data(np.log10(hist + 1e-4))
            images[key].set_extent(extent)
            ax.set_title(f"activations {when} ({np.mean(zeros):.0%} zeros)")
        acc = "diverged" if data["diverged"] else f"val. accuracy {data['val_acc']:.0%}"
        suptitle.set_text(f"{'with' if bn_on else 'without'} batch norm: {acc}")
        png = redraw.png(static_key=tuple(text.get_text() for text in legend.get_texts()))
        fig.set_layout_engine("none")  # the layout of the first picture stays: every kept background matches it
        return png

    if not fast_mode():  # every legend state's background now (a few full draws), so that no update waits for one
        seen = set()
        for bn_on in (True, False):
            for lr in lrs:
                for depth in depths:
                    data = lookup(bn_on, lr, depth)
                    key = (bn_on, data["this"]["history"].diverged, data["other"]["history"].diverged)
                    if key not in seen:
                        seen.add(key)
                        draw(data, {"batch_norm": bn_on, "lr": lr, "depth": depth})

    step = depths[1] - depths[0]
    return App(
        controls={
            "batch_norm": toggle("batch norm", True),
            "lr": slider(min(lrs), max(lrs), step=1.0, value=lrs[-2] if len(lrs) > 1 else lrs[0],
                         description="learning rate", log=True),
            "depth": slider(min(depths), max(depths), step=step, value=max(depths), description="depth"),
        },
        compute=lookup,
        draw=draw,
        title="Batch norm × learning rate × depth (precomputed runs)",
    )
