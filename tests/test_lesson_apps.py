"""Tests for the lesson widgets kept in course_utils: notebook 01's gradient profile and notebook 03's
polynomial double-descent explorer (values, static picture, bad input, update speed)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from course_utils.double_descent import feature_sweep
from course_utils.double_descent_app import MSE_RANGE, polynomial_fit_app
from course_utils.gradient_profile_app import gradient_profile, gradient_profile_app

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(64, 64, generator=g), torch.randint(0, 10, (64,), generator=g)


def test_gradient_profile_shapes_and_saturation(batch):
    x, y = batch
    out = gradient_profile(x, y, "sigmoid", depth=6, input_scale=30.0, skip=False)
    assert out["grad"].shape == (6,) and out["saturated"].shape == (6,)
    assert 0 <= out["saturated"].min() and out["saturated"].max() <= 100
    assert out["ratio"] == pytest.approx(out["grad"][0] / out["grad"][-1])
    leaky = gradient_profile(x, y, "leaky_relu", depth=3, input_scale=1.0, skip=True)
    assert np.all(np.isnan(leaky["saturated"]))  # leaky ReLU never saturates


def test_gradient_profile_skip_keeps_the_gradient(batch):
    x, y = batch
    plain = gradient_profile(x, y, "sigmoid", depth=10, input_scale=1.0, skip=False)["ratio"]
    skip = gradient_profile(x, y, "sigmoid", depth=10, input_scale=1.0, skip=True)["ratio"]
    assert plain < 1e-3 < 0.1 < skip


@pytest.mark.parametrize("kwargs, match", [(dict(activation="gelu"), "activation"), (dict(depth=0), "depth"),
                                           (dict(input_scale=0.0), "input_scale")])
def test_gradient_profile_rejects_bad_settings(batch, kwargs, match):
    x, y = batch
    settings = dict(activation="relu", depth=3, input_scale=1.0, skip=False) | kwargs
    with pytest.raises(ValueError, match=match):
        gradient_profile(x, y, **settings)


def test_gradient_profile_rejects_a_bad_batch(batch):
    x, y = batch
    with pytest.raises(ValueError, match="labels"):
        gradient_profile_app(x, y[:5])
    with pytest.raises(ValueError, match="max_depth"):
        gradient_profile_app(x, y, max_depth=1)


def test_gradient_profile_app_updates_draw_a_png_quickly(batch):
    x, y = batch
    app = gradient_profile_app(x, y)
    assert app.static_png().startswith(PNG)
    app.update(depth=11)  # warm up the blitting background
    start = time.process_time()
    for depth in (12, 13, 14):
        state = app.update(depth=depth)
        assert state.error is None and len(state.data["grad"]) == depth
    assert (time.process_time() - start) / 3 < 0.5  # generous: about 50-150 ms on a loaded 2-core CPU
    state = app.update(activation="leaky_relu")
    assert state.error is None and np.all(np.isnan(state.data["saturated"]))


def test_polynomial_fit_app_matches_feature_sweep():
    app = polynomial_fit_app(n=20, noise=0.3, d_max=40)
    assert app.static_png().startswith(PNG)
    state = app.update(d=20)
    data = state.data
    s = data["sweep"]
    ref = feature_sweep(s["x"], s["y"], s["x"], s["y"], np.arange(1, 41))
    np.testing.assert_allclose(s["train_mse"], ref["train_mse"], atol=1e-12)
    assert data["peak_d"] == 20 and data["peak_mse"] == pytest.approx(s["test_mse"].max())
    assert data["test_mse"] == pytest.approx(s["test_mse"][19]) and data["fit"].shape == (400,)
    assert MSE_RANGE[0] < MSE_RANGE[1]


def test_polynomial_fit_app_d_slider_only_indexes():
    app = polynomial_fit_app(n=15, noise=0.2, d_max=30)
    first = app.update(d=10).data["sweep"]
    assert app.update(d=25).data["sweep"] is first  # cached: the same arrays, nothing refitted
    app.buttons["resample"].click()
    assert app.state.data["sweep"] is not first


@pytest.mark.parametrize("kwargs, match", [(dict(n=12), "n must"), (dict(d_max=20), "d_max"),
                                           (dict(noise=0.9), "noise"), (dict(n_test=0), "n_test")])
def test_polynomial_fit_app_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        polynomial_fit_app(**kwargs)


def test_sweep_browser_app_on_the_shipped_sweep():
    from course_utils.double_descent import load_sweep
    from course_utils.double_descent_app import sweep_browser_app

    full = load_sweep()
    seen = []

    def first_zero(widths, errors):
        seen.append(len(widths))
        hits = np.flatnonzero(np.asarray(errors) <= 0.0)
        return int(widths[hits[0]]) if hits.size else None

    app = sweep_browser_app(full, threshold=first_zero, num_train=4000)
    assert app.static_png().startswith(PNG) and seen
    state = app.update(width=45, epoch=10)
    assert state.error is None and state.data["width"] == int(full["widths"][state.data["wi"]])
    assert state.data["epoch"] <= 10
    start = time.process_time()
    for epoch in (20, 50, 100):
        assert app.update(epoch=epoch).error is None
    assert (time.process_time() - start) / 3 < 0.5
    with pytest.raises(ValueError, match="missing"):
        sweep_browser_app({"widths": full["widths"]})


# ---- speed-critical structure (the timings themselves live in benchmarks/widgets.py) ----------------
@pytest.fixture
def full_draws(monkeypatch):
    """Counts full figure draws on Agg canvases (an app's update should blit, not redraw everything)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    count = [0]
    draw = FigureCanvasAgg.draw

    def counting(self, *args, **kwargs):
        count[0] += 1
        return draw(self, *args, **kwargs)

    monkeypatch.setattr(FigureCanvasAgg, "draw", counting)
    return count


def test_activation_explorer_updates_without_a_full_draw(full_draws):
    from course_utils.activation_app import activation_data, activation_explorer

    app = activation_explorer()
    before = full_draws[0]
    for change in (dict(z_max=4.0), dict(activation="leaky ReLU"), dict(slope=0.3), dict(activation="tanh")):
        state = app.update(**change)
        assert state.error is None and state.png.startswith(PNG)
    assert full_draws[0] == before  # the axes are moving artists: only blitting
    data = state.data
    assert data["max_grad"] == pytest.approx(1.0, abs=1e-3)  # tanh
    assert activation_data("sigmoid", 0.1, 8.0)["small_fraction"] == pytest.approx(0.43, abs=0.01)
    with pytest.raises(ValueError, match="activation"):
        activation_data("gelu", 0.1, 8.0)


def test_init_scale_app_matches_propagation_stats_and_reuses_sweeps(monkeypatch, full_draws):
    from course_utils.init_scale_app import UnitNetworks, init_scale_app
    from course_utils.initialization import variance_sweep

    got = UnitNetworks(20).stats([0.05, 0.3, 1.0], "tanh", 5)
    ref = variance_sweep([0.05, 0.3, 1.0], depth=5, width=20, activation="tanh", batch=64, loss="sum")
    np.testing.assert_allclose(got["act_std"], ref["act_std"], rtol=1e-9)
    np.testing.assert_allclose(got["grad_std"], ref["grad_std"], rtol=1e-9)

    grid_passes = []
    stats = UnitNetworks.stats
    monkeypatch.setattr(UnitNetworks, "stats", lambda self, sigmas, *a: grid_passes.append(len(sigmas)) or stats(self, sigmas, *a))
    app = init_scale_app([0.05, 0.3, 1.0], width=20, depth=5, precompute=False)
    before, passes = full_draws[0], len(grid_passes)
    for sigma in (0.2, 0.5, 0.7):  # not the start value 0.1 (cached)
        assert app.update(sigma=sigma).error is None
    assert grid_passes[passes:] == [1, 1, 1]  # a σ move runs one single-σ pass, never the sweep again
    assert full_draws[0] == before
    state = app.update(activation="sigmoid")
    assert state.error is None and state.data["critical"] is None and state.data["act_last"].shape == (3,)


def test_results_explorer_blits_every_update(full_draws):
    from course_utils import transfer

    summary = transfer.summarise(transfer.load_results()["rows"])
    app = transfer.results_explorer(summary)  # COURSE_FAST=0 in the tests: every picture is drawn now
    before = full_draws[0]
    for change in (dict(target="textures"), dict(strategy="all"), dict(labels=50), dict(target="digits"),
                   dict(augmented=True), dict(strategy="scratch")):
        state = app.update(**change)
        assert state.error is None
    assert full_draws[0] == before
    assert state.data == transfer.results_lookup(summary, "digits", 50, "scratch", True)


def test_conv_explorer_steps_the_kernel_without_a_full_draw(full_draws, monkeypatch):
    from course_utils.conv import conv_explorer

    app = conv_explorer(W1=7, F=3, P=1, S=2)  # COURSE_FAST=0 in the tests: every size's frame is drawn now
    before = full_draws[0]
    for step in (1, 2, 3):
        assert app.update(step=step).error is None
    for change in (dict(P=0), dict(W1=12), dict(S=3), dict(F=7, D=1)):
        assert app.update(**change).error is None
    assert full_draws[0] == before  # new sizes too: their frames were kept
    monkeypatch.setenv("COURSE_FAST", "1")
    app = conv_explorer(W1=7, F=3, P=1, S=2)  # fast mode: nothing drawn ahead
    before = full_draws[0]
    app.update(P=0)
    assert full_draws[0] == before + 1  # a new input size: one full draw
    app.update(S=1)
    assert full_draws[0] == before + 2  # and a new output size
    app.update(P=1, S=2)
    assert full_draws[0] == before + 2  # both seen before: put together from the kept halves
