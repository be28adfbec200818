"""Lesson 05's explorer over precomputed runs (course_utils.bn_explorer)."""
from types import SimpleNamespace

import numpy as np
import pytest

from course_utils.bn_explorer import bn_explorer, nearest, smooth

BINS = np.linspace(-4, 2, 13)


def _run(depth, diverged=False, acc=0.9, steps=40):
    loss = list(np.linspace(2.3, 0.2, steps)) + ([float("nan")] if diverged else [])
    hist = np.full((depth, len(BINS) - 1), 1.0 / (len(BINS) - 1))
    return {"history": SimpleNamespace(step_loss=loss, diverged=diverged, val_acc=[acc]),
            "hist_init": (hist, np.zeros(depth)), "hist_final": (hist, np.full(depth, 0.5))}


def _runs(lrs=(0.1, 1.0), depths=(4, 8)):
    return {(norm, lr, d): _run(d, diverged=(norm is None and lr == max(lrs)), acc=0.5 if norm else 0.8)
            for norm in (None, "batch") for lr in lrs for d in depths}


def test_smooth_stops_at_nan_and_averages():
    assert np.allclose(smooth([1, 2, 3, 4], k=2), [1.5, 2.5, 3.5])
    assert np.allclose(smooth([1, 2, float("nan"), 4], k=1), [1, 2])
    assert len(smooth([1.0, 2.0], k=10)) == 2
    with pytest.raises(ValueError, match="k must be"):
        smooth([1.0], k=0)


def test_nearest_linear_and_log():
    assert nearest([0.01, 0.1, 1.0, 10.0], 0.3, log=True) == 0.1
    assert nearest([0.01, 0.1, 1.0, 10.0], 0.4, log=True) == 1.0
    assert nearest([4, 12, 20], 15) == 12
    with pytest.raises(ValueError, match="empty"):
        nearest([], 1.0)
    with pytest.raises(ValueError, match="> 0"):
        nearest([0.0, 1.0], 1.0, log=True)


def test_app_looks_runs_up_and_draws():
    app = bn_explorer(_runs(), lrs=[0.1, 1.0], depths=[4, 8], hist_bins=BINS)
    state = app.update(batch_norm=False, lr=1.0, depth=8)
    assert state.error is None and state.data["diverged"] and np.isnan(state.data["val_acc"])
    state = app.update(batch_norm=True, lr=0.12, depth=5)        # snaps to the nearest grid point
    assert state.error is None and (state.data["lr"], state.data["depth"]) == (0.1, 4)
    assert state.data["val_acc"] == 0.5
    assert app.static_png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_runs_and_bad_depths_are_named():
    runs = _runs()
    del runs[("batch", 1.0, 8)]
    with pytest.raises(ValueError, match="no entry"):
        bn_explorer(runs, lrs=[0.1, 1.0], depths=[4, 8], hist_bins=BINS)
    with pytest.raises(ValueError, match="at least two"):
        bn_explorer(_runs(depths=(4,)), lrs=[0.1, 1.0], depths=[4], hist_bins=BINS)
