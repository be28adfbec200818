"""Lesson 06's explorer over a grid of precomputed runs (course_utils.regularization_explorer)."""
from types import SimpleNamespace

import numpy as np
import pytest

from course_utils.regularization_explorer import regularization_explorer


def _run(p, wd, epochs=10):
    e = list(range(1, epochs + 1))
    train = list(np.geomspace(1.0, 0.01 + wd, epochs))
    val = list(np.geomspace(1.0, 0.3, epochs))
    curves = {"epoch": e, "train_loss": [t * (1 + p) for t in train], "clean_train_loss": train, "val_loss": val,
              "clean_train_acc": list(np.linspace(0.5, 1.0, epochs)), "val_acc": list(np.linspace(0.5, 0.9 - wd, epochs))}
    return SimpleNamespace(curves=lambda: curves, dropout=p, weight_decay=wd, train_acc=1.0, val_acc=0.9 - wd - p / 10,
                           gap_loss=val[-1] - train[-1])


def _grid(ps=(0.0, 0.5), wds=(0.0, 0.01)):
    return {(p, wd): _run(p, wd) for p in ps for wd in wds}


def test_app_looks_runs_up_and_draws():
    app = regularization_explorer(_grid(), dropouts=(0.0, 0.5), weight_decays=(0.0, 0.01))
    state = app.update(dropout=0.5, weight_decay=0.01)
    assert state.error is None and state.data["run"].dropout == 0.5 and state.data["run"].weight_decay == 0.01
    state = app.update(dropout=0.0, weight_decay=0.0)   # the reference run: no dashed curve, no dropout-on curve
    assert state.error is None
    assert app.static_png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_runs_are_named():
    grid = _grid()
    del grid[(0.5, 0.01)]
    with pytest.raises(ValueError, match="no run"):
        regularization_explorer(grid, dropouts=(0.0, 0.5), weight_decays=(0.0, 0.01))
    with pytest.raises(ValueError, match=r"\(0.0, 0.0\)"):
        regularization_explorer(_grid(ps=(0.25,), wds=(0.01,)), dropouts=(0.25,), weight_decays=(0.01,))
