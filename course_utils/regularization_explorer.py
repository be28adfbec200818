"""Lesson 06's explorer: dropout × weight decay, browsed over a grid of precomputed training runs.

Every point of the grid is a real :class:`course_utils.regularization.Run` (``run_grid``), so a slider
move only looks a run up and redraws one persistent figure (:class:`course_utils.plots.FastRedraw`)::

    grid = run_grid(split, dropouts=(0.0, 0.5), weight_decays=(0.0, 1e-2), epochs=60)
    app = regularization_explorer(grid, dropouts=(0.0, 0.5), weight_decays=(0.0, 1e-2))
    app.update(dropout=0.5, weight_decay=1e-2).data["run"].gap_loss

Panels: the loss (log scale) and accuracy curves of the chosen run -- training with dropout on as
``fit`` reports it, training with dropout off, validation -- with the unregularised run's validation
curve dashed for reference, and the final validation accuracy of the whole grid as a table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course_utils.plots import COLOR, FastRedraw
from course_utils.reproducibility import fast_mode
from course_utils.widgets import App

__all__ = ["regularization_explorer"]


def regularization_explorer(grid: Mapping, dropouts: Sequence[float], weight_decays: Sequence[float]) -> App:
    """An :class:`~course_utils.widgets.App` over ``grid[(dropout, weight_decay)]`` runs.

    Args:
        grid: ``{(p, wd): Run}`` with every ``p`` in ``dropouts`` and ``wd`` in ``weight_decays``; each run
            has ``curves()``, ``dropout``, ``weight_decay``, ``train_acc``, ``val_acc``, ``gap_loss``.
            ``(0.0, 0.0)`` (no regularisation) must be in the grid: it is the reference curve.
        dropouts, weight_decays: the grid's axes, in display order.
    Returns:
        The app, with selection sliders ``dropout`` and ``weight_decay``.
    Raises:
        ValueError: a run of the grid is missing.
    """
    dropouts, weight_decays = list(dropouts), list(weight_decays)
    missing = [(p, wd) for p in dropouts for wd in weight_decays if (p, wd) not in grid]
    if (0.0, 0.0) not in grid:
        missing.append((0.0, 0.0))
    if missing:
        raise ValueError(f"grid has no run for (dropout, weight_decay) = {missing[:3]}")
    curves = {key: run.curves() for key, run in grid.items()}
    losses = [v for c in curves.values() for k in ("train_loss", "clean_train_loss", "val_loss") for v in c[k]]
    epochs = curves[(0.0, 0.0)]["epoch"]

    fig = Figure(figsize=(14, 3.8), dpi=80, layout="constrained")  # dpi 80 like the other apps: a smaller PNG
    ax_loss, ax_acc, ax_tab = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1.2, 1]})
    lines = {  # (panel, curve) -> line; "reference" is the unregularised run's validation curve
        "noisy": ax_loss.plot([], [], color=COLOR["green"], label="train, dropout on (what fit reports)")[0],
        **{(ax, key): ax.plot([], [], color=COLOR["blue" if "train" in key else "orange"])[0]
           for ax, keys in ((ax_loss, ("clean_train_loss", "val_loss")), (ax_acc, ("clean_train_acc", "val_acc")))
           for key in keys},
        **{(ax, "reference"): ax.plot([], [], color="0.6", lw=1, ls="--", label="validation, no regularisation")[0]
           for ax in (ax_loss, ax_acc)},
    }
    span = max(epochs[-1] - epochs[0], 1)
    for ax in (ax_loss, ax_acc):
        ax.set_xlim(epochs[0] - 0.05 * span, epochs[-1] + 0.05 * span)
        ax.set_xlabel("epoch")
    ax_loss.set(yscale="log", ylabel="cross-entropy loss", title="Loss", ylim=(0.8 * min(losses), 1.25 * max(losses)))
    ax_acc.set(ylabel="accuracy", title="Accuracy", ylim=(0, 1.02))
    table = np.array([[grid[(p, wd)].val_acc for wd in weight_decays] for p in dropouts])
    image = ax_tab.imshow(table, cmap="viridis", origin="lower", aspect="auto")
    ax_tab.set(xticks=range(len(weight_decays)), xticklabels=[f"{w:g}" for w in weight_decays],
               yticks=range(len(dropouts)), yticklabels=[f"{p:g}" for p in dropouts],
               xlabel="weight decay", ylabel="dropout p", title="final validation accuracy")
    for i in range(len(dropouts)):
        for j in range(len(weight_decays)):
            bright = table[i, j] > (table.min() + table.max()) / 2
            ax_tab.text(j, i, f"{table[i, j]:.3f}", ha="center", va="center", color="k" if bright else "w", fontsize=8)
    square = ax_tab.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="C1", lw=3))
    fig.colorbar(image, ax=ax_tab)
    suptitle = fig.suptitle(" ")
    # The legends' entries take only a few states (dropout on or off, the reference shown or not): each
    # state's legends belong to its background, drawn once and kept; an update blits the curves over it.
    redraw = FastRedraw(fig, moving=[*lines.values(), square, suptitle], backgrounds=4)

    def legend(ax, loc):
        """A legend of the panel's visible curves; returns its entries."""
        shown = [line for line in ax.lines if line.get_visible()]
        labels = [line.get_label() for line in shown]
        ax.legend(handles=shown, labels=labels, fontsize="small", loc=loc)
        return tuple(labels)

    def lookup(dropout, weight_decay):
        return {"run": grid[(dropout, weight_decay)], "curves": curves[(dropout, weight_decay)]}

    def draw(data, values):
        run, c, ref = data["run"], data["curves"], curves[(0.0, 0.0)]
        clean = "train" + (", dropout off" if run.dropout > 0 else "")
        lines["noisy"].set_data(c["epoch"], c["train_loss"])
        lines["noisy"].set_visible(run.dropout > 0)
        for ax, keys in ((ax_loss, ("clean_train_loss", "val_loss")), (ax_acc, ("clean_train_acc", "val_acc"))):
            for key in keys:
                lines[(ax, key)].set_data(c["epoch"], c[key])
                lines[(ax, key)].set_label(clean if "train" in key else "validation")
            lines[(ax, "reference")].set_data(ref["epoch"], ref[keys[1]])
            lines[(ax, "reference")].set_visible((run.dropout, run.weight_decay) != (0.0, 0.0))
        square.set_xy((weight_decays.index(values["weight_decay"]) - 0.5, dropouts.index(values["dropout"]) - 0.5))
        suptitle.set_text(f"p = {values['dropout']:g}, weight decay = {values['weight_decay']:g}: train acc "
                          f"{run.train_acc:.3f}, val acc {run.val_acc:.3f}, val - train loss {run.gap_loss:.3f}")
        key = tuple((ax, tuple(line.get_label() for line in ax.lines if line.get_visible())) for ax in (ax_loss, ax_acc))
        if not redraw.has_background(key):
            legend(ax_loss, "lower left")
            legend(ax_acc, "lower right")
        png = redraw.png(static_key=key)
        fig.set_layout_engine("none")  # the layout of the first picture stays: every kept background matches it
        return png

    if not fast_mode():  # every legend state's background now (three full draws), so that no update waits for one
        seen = set()
        for p, wd in ((p, wd) for p in dropouts for wd in weight_decays):
            if (p > 0, (p, wd) != (0.0, 0.0)) not in seen:
                seen.add((p > 0, (p, wd) != (0.0, 0.0)))
                draw(lookup(p, wd), {"dropout": p, "weight_decay": wd})

    return App(
        controls={
            "dropout": ipywidgets.SelectionSlider(options=dropouts, value=dropouts[-1], description="dropout p",
                                                  continuous_update=False),
            "weight_decay": ipywidgets.SelectionSlider(options=weight_decays, value=weight_decays[min(1, len(weight_decays) - 1)],
                                                       description="weight decay", continuous_update=False),
        },
        compute=lookup,
        draw=draw,
        title="Regularisation explorer (precomputed real runs)",
    )
