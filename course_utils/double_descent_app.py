"""The polynomial double-descent explorer of notebook 03: one slider per knob, every update fast.

Fits ``n`` noisy samples of ``sin(pi x)`` on [-1, 1] with the first ``d`` Legendre features by the
minimum-norm least-squares solution (or ridge), and shows the fit next to the training and test
error against ``d``::

    from course_utils.double_descent_app import polynomial_fit_app
    app = polynomial_fit_app(n=20, noise=0.3, d_max=120)
    app                       # sliders d, n, noise σ, ridge λ; a ridge toggle; a "resample" button
    app.update(d=60).data     # {"d", "n", "test_mse", "train_mse", "peak_d", "peak_mse", ...}

Each setting of (n, noise, ridge, seed) is computed once for every ``d`` at once
(:func:`course_utils.double_descent.feature_sweep`, about ``d_max`` small SVDs) and cached, so moving
the ``d`` slider only indexes precomputed arrays. The figure is one persistent ``Figure`` redrawn by
:class:`course_utils.plots.FastRedraw` (axes, ticks and labels are drawn once). The error axis is fixed
at 1e-3 .. 1e9 (MSE); the right title states the peak's actual value, which can be far above it.

:func:`sweep_browser_app` browses the saved MNIST-1D width sweep (Part 2) by width and epoch, with
the interpolation threshold found by a function the lesson passes in (the student's own)::

    full = load_sweep()
    app = sweep_browser_app(full, threshold=lambda widths, errors: my_threshold(widths, errors, tol=0.0))
"""
from __future__ import annotations

import numpy as np
import torch

from course_utils.data import make_regression_1d, regression_truth
from course_utils.double_descent import feature_sweep
from course_utils.plots import FastRedraw
from course_utils.widgets import App, slider, toggle

__all__ = ["polynomial_fit_app", "sweep_browser_app", "MSE_RANGE"]

#: The fixed y-range of the error panel (mean squared error).
MSE_RANGE = (1e-3, 1e9)


def _check_settings(n: int, noise: float, d_max: int, n_test: int) -> None:
    if not (isinstance(n, int) and 10 <= n <= 30 and n % 5 == 0):
        raise ValueError(f"n must be an int in 10, 15, ..., 30 (the n slider's values), got {n!r}")
    if not (isinstance(d_max, int) and d_max > n):
        raise ValueError(f"d_max must be an int larger than n = {n} (to show the second descent), got {d_max!r}")
    if not 0.0 <= noise <= 0.6:
        raise ValueError(f"noise must be in [0, 0.6] (the noise slider's range), got {noise!r}")
    if not (isinstance(n_test, int) and n_test >= 1):
        raise ValueError(f"n_test must be a positive int, got {n_test!r}")


def polynomial_fit_app(n: int = 20, noise: float = 0.3, d_max: int = 120, n_test: int = 500,
                       grid_points: int = 400) -> App:
    """The interactive polynomial double-descent explorer (notebook 03, Part 1).

    Args:
        n: starting number of training samples (slider 10..30 in steps of 5).
        noise: starting standard deviation of the target noise (slider 0..0.6).
        d_max: largest number of Legendre features d (the d slider runs 1..d_max); > n.
        n_test: test samples per setting (drawn with their own seed).
        grid_points: points of the x grid on which the fit is drawn.
    Returns:
        An :class:`course_utils.widgets.App`. ``app.update(...).data`` holds ``d``, ``n``, ``fit``
        (the fit on the grid, ``(grid_points,)``), ``train_mse``, ``test_mse`` (floats, at this d),
        ``peak_d`` and ``peak_mse`` (where the test MSE is largest over all d), and ``sweep`` (the
        :func:`~course_utils.double_descent.feature_sweep` dict with the data ``x``, ``y``).
    Raises:
        ValueError: a setting outside the sliders' ranges.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogLocator, NullLocator

    _check_settings(n, noise, d_max, n_test)
    ds = np.arange(1, d_max + 1)
    x_grid = np.linspace(-1, 1, grid_points)
    truth = regression_truth("sine", torch.tensor(x_grid)).numpy()
    sweeps: dict[tuple, dict] = {}
    resample = {"seed": 0}

    def sweep_for(n_s: int, noise_s: float, lam: float, seed: int) -> dict:
        key = (n_s, round(noise_s, 6), lam, seed)
        if key not in sweeps:
            xa, ya = (t[:, 0].numpy() for t in make_regression_1d(n_s, noise_s, seed=seed, fn="sine"))
            xb, yb = (t[:, 0].numpy() for t in make_regression_1d(n_test, noise_s, seed=seed + 10_000, fn="sine"))
            result = feature_sweep(xa, ya, xb, yb, ds, ridge=lam, x_grid=x_grid)
            result.update(x=xa, y=ya)
            sweeps[key] = result
        return sweeps[key]

    def compute(d, n, noise, ridge, lam):
        s = sweep_for(int(n), float(noise), float(lam) if ridge else 0.0, resample["seed"])
        peak = int(np.argmax(s["test_mse"]))
        return {"sweep": s, "d": int(d), "n": int(n), "fit": s["grid_pred"][d - 1],
                "test_mse": float(s["test_mse"][d - 1]), "train_mse": float(s["train_mse"][d - 1]),
                "peak_d": int(ds[peak]), "peak_mse": float(s["test_mse"][peak])}

    # One persistent figure with fixed axes; FastRedraw draws axes, ticks, labels once and then only the
    # moving artists. No layout engine: it would lay the figure out again on every draw.
    fig = Figure(figsize=(10, 3.4), dpi=80, layout="none")
    ax_f, ax_c = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.22)
    ax_f.plot(x_grid, truth, "k--", lw=1, label="true function")
    fit_line, = ax_f.plot(x_grid, x_grid, label="fit")
    points, = ax_f.plot([], [], "o", color="C1", ms=4, label="training data")
    ax_f.set(xlabel="x", ylabel="y", ylim=(-3, 3))
    legend_f = ax_f.legend(loc="lower left", frameon=True, framealpha=0.9)
    train_line, = ax_c.semilogy(ds, ds * 1.0, label="training MSE")
    test_line, = ax_c.semilogy(ds, ds * 1.0, label="test MSE")
    n_line = ax_c.axvline(n, color="k", ls=":", lw=1, label="d = n")
    cursor, = ax_c.plot([1], [1], "o", color="C3", label="current d", clip_on=False)
    ax_c.set(title="error against d", xlabel="number of features d", ylabel="MSE")
    legend_c = ax_c.legend(loc="upper right", fontsize="small", frameon=True, framealpha=0.9)
    for ax in (ax_f, ax_c):  # minor ticks are most of the drawing time of a log axis
        ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_minor_locator(NullLocator())
    ax_c.set_ylim(*MSE_RANGE)
    ax_c.yaxis.set_major_locator(LogLocator(numticks=5))
    redraw = FastRedraw(fig, moving=[points, fit_line, train_line, test_line, n_line, cursor, ax_f.title, ax_c.title],
                        on_top=[legend_f, legend_c])  # the legends stay on top, laid out once

    def draw(data, values):
        s, d = data["sweep"], data["d"]
        fit_line.set_ydata(data["fit"])
        points.set_data(s["x"], s["y"])
        ax_f.set_title(f"d = {d}, n = {data['n']}: test MSE {data['test_mse']:.3g}")
        train_line.set_ydata(s["train_mse"] + 1e-16)
        test_line.set_ydata(s["test_mse"])
        n_line.set_xdata([data["n"], data["n"]])
        cursor.set_data([d], [min(data["test_mse"], MSE_RANGE[1])])  # off the chart: sits on the top edge
        ax_c.set_title(f"error against d: peak {data['peak_mse']:.2g} at d = {data['peak_d']}")
        return redraw.png()

    def new_data(app):
        resample["seed"] += 1

    return App(
        controls={
            "d": slider(1, d_max, 1, n, "features d", expensive=False),
            "n": slider(10, 30, 5, n, "samples n"),
            "noise": slider(0.0, 0.6, 0.05, noise, "noise σ"),
            "ridge": toggle("ridge", False),
            "lam": slider(1e-6, 1.0, 0.5, 1e-3, "ridge λ", log=True),
        },
        compute=compute, draw=draw, title="Double descent, one slider at a time",
        buttons={"resample": new_data},
    )


def sweep_browser_app(sweep: dict, threshold=None, num_train: int | None = None) -> App:
    """Browse a saved width sweep: all widths at one epoch (left), one width over all epochs (right).

    Args:
        sweep: a dict like :func:`course_utils.double_descent.load_sweep`'s: ``widths`` (W,),
            ``epochs`` (E,), ``train_error`` and ``test_error`` (E, W) in percent, ``num_params`` (W,).
        threshold: optional function ``(widths, train_errors) -> width or None``; its answer at the chosen
            epoch is marked by a dotted line ("training error reaches 0").
        num_train: optional number of training examples; marks the width whose parameter count is
            closest to it (dashed line).
    Returns:
        An :class:`course_utils.widgets.App` with sliders ``width`` and ``epoch``; ``state.data`` holds
        ``wi``, ``ei`` (indices into the sweep), ``width``, ``epoch`` and ``threshold``.
    Raises:
        ValueError: missing keys or arrays of inconsistent shapes.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    missing = [k for k in ("widths", "epochs", "train_error", "test_error", "num_params") if k not in sweep]
    if missing:
        raise ValueError(f"sweep is missing {missing}")
    widths, epochs = np.asarray(sweep["widths"]), np.asarray(sweep["epochs"])
    train, test = np.asarray(sweep["train_error"]), np.asarray(sweep["test_error"])
    if train.shape != (len(epochs), len(widths)) or test.shape != train.shape:
        raise ValueError(f"train_error and test_error must be (epochs, widths) = {(len(epochs), len(widths))}, "
                         f"got {train.shape} and {test.shape}")
    if threshold is not None and not callable(threshold):
        raise ValueError("threshold must be a function (widths, train_errors) -> width or None")

    def compute(width, epoch):
        wi = int(np.argmin(np.abs(widths - width)))
        ei = max(int(np.searchsorted(epochs, epoch, side="right")) - 1, 0)
        thr = None if threshold is None else threshold(widths, train[ei])
        return {"wi": wi, "ei": ei, "width": int(widths[wi]), "epoch": int(epochs[ei]), "threshold": thr}

    fig = Figure(figsize=(12, 3.8), dpi=80, layout="none")
    ax_w, ax_t = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.14, top=0.9, wspace=0.18)
    train_w, = ax_w.semilogx(widths, train[-1], "o-", ms=3, label="training error (noisy labels)")
    test_w, = ax_w.semilogx(widths, test[-1], "o-", ms=3, label="test error")
    thr_line = ax_w.axvline(widths[0], color="C3", ls=":", label="training error reaches 0")
    if num_train is not None:
        w_eq = int(widths[np.argmin(np.abs(np.asarray(sweep["num_params"]) - num_train))])
        ax_w.axvline(w_eq, color="k", ls="--", lw=1, label=f"#parameters ≈ #training examples: w ≈ {w_eq}")
    width_cursor = ax_w.axvline(widths[0], color="C2", lw=3, alpha=0.4)
    ax_w.set(xlabel="hidden width w", ylabel="error (%)", ylim=(0, 100))
    legend_w = ax_w.legend(fontsize="small", loc="upper right", framealpha=0.9)
    train_t, = ax_t.semilogx(epochs, train[:, 0], label="training error")
    test_t, = ax_t.semilogx(epochs, test[:, 0], label="test error")
    epoch_cursor = ax_t.axvline(epochs[-1], color="C2", lw=3, alpha=0.4)
    ax_t.set(xlabel="epoch", ylabel="error (%)", ylim=(0, 100))
    ax_t.legend(loc="upper right")
    for ax in (ax_w, ax_t):
        ax.xaxis.set_minor_locator(NullLocator())
    redraw = FastRedraw(fig, moving=[train_w, test_w, thr_line, width_cursor, train_t, test_t, epoch_cursor,
                                     ax_w.title, ax_t.title, legend_w])

    def draw(data, values):
        wi, ei = data["wi"], data["ei"]
        train_w.set_ydata(train[ei])
        test_w.set_ydata(test[ei])
        thr_line.set_visible(data["threshold"] is not None)
        if data["threshold"] is not None:
            thr_line.set_xdata([data["threshold"]] * 2)
        width_cursor.set_xdata([data["width"]] * 2)
        ax_w.set_title(f"all widths after epoch {data['epoch']}"
                       + ("" if data["threshold"] is None else f"; training error 0 from w = {data['threshold']}"))
        train_t.set_ydata(train[:, wi])
        test_t.set_ydata(test[:, wi])
        epoch_cursor.set_xdata([data["epoch"]] * 2)
        ax_t.set_title(f"width {data['width']} over training")
        return redraw.png()

    return App({"width": slider(int(widths.min()), int(widths.max()), 1, int(np.clip(40, widths.min(), widths.max())),
                                "hidden width"),
                "epoch": slider(1, int(epochs[-1]), 1, int(epochs[-1]), "epoch")},
               compute, draw, title="Full MNIST-1D sweep", cache=True)
