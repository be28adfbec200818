"""Tests for course_utils.double_descent: min-norm solution, Legendre feature sweep, batched width sweep, sweep script."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.polynomial import legendre

from course_utils import double_descent as dd

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("shape, rank", [((30, 8), None), ((8, 30), None), ((9, 9), None), ((20, 10), 3), ((5, 40), 2)])
def test_min_norm_solution_matches_pinv_and_lstsq(shape, rank):
    rng = np.random.default_rng(0)
    n, d = shape
    A = rng.normal(size=shape) if rank is None else rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d))
    y = rng.normal(size=n)
    w = dd.min_norm_solution(A, y)
    np.testing.assert_allclose(w, np.linalg.pinv(A) @ y, atol=1e-8)
    np.testing.assert_allclose(w, np.linalg.lstsq(A, y, rcond=None)[0], atol=1e-8)


def test_ridge_solution_matches_closed_form():
    rng = np.random.default_rng(1)
    A, y, lam = rng.normal(size=(6, 15)), rng.normal(size=6), 0.3
    expected = np.linalg.solve(A.T @ A + lam * np.eye(15), A.T @ y)
    np.testing.assert_allclose(dd.min_norm_solution(A, y, ridge=lam), expected, atol=1e-10)


def test_feature_sweep_peaks_at_n_and_ridge_flattens():
    rng = np.random.default_rng(0)
    x, xt = rng.uniform(-1, 1, 20), rng.uniform(-1, 1, 300)
    y, yt = np.sin(np.pi * x) + 0.3 * rng.normal(size=20), np.sin(np.pi * xt) + 0.3 * rng.normal(size=300)
    ds = np.arange(1, 81)
    s = dd.feature_sweep(x, y, xt, yt, ds, x_grid=np.linspace(-1, 1, 50))
    assert s["grid_pred"].shape == (80, 50)
    # d = 3 fits the quadratic Legendre basis: the same predictions as numpy's least squares on legvander
    w = np.linalg.lstsq(legendre.legvander(x, 2), y, rcond=None)[0]
    np.testing.assert_allclose(s["grid_pred"][2], legendre.legvander(np.linspace(-1, 1, 50), 2) @ w, atol=1e-8)
    assert ds[np.flatnonzero(s["train_mse"] <= 1e-10)[0]] == 20  # the training error reaches 0 at d = n
    assert ds[np.argmax(s["test_mse"])] == 20 and ds[np.argmax(s["norm"])] == 20
    assert s["test_mse"][-1] < 0.01 * s["test_mse"].max()
    r = dd.feature_sweep(x, y, xt, yt, ds, ridge=1e-3)
    assert r["test_mse"].max() < s["test_mse"].max() / 100


def test_group_widths():
    assert dd.group_widths([2, 4, 40, 30, 3], 2.0) == [[2, 3, 4], [30, 40]]
    assert dd.group_widths([5, 6], 1.0) == [[5], [6]]
    assert dd.group_widths([5, 600], float("inf")) == [[5, 600]]


def _toy(n=240, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 40, generator=g), torch.randint(0, 10, (n,), generator=g),
            torch.randn(80, 40, generator=g), torch.randint(0, 10, (80,), generator=g))


@pytest.mark.parametrize("ratio", [1.0, 2.0, float("inf")])
def test_batched_sweep_equals_one_model_at_a_time(ratio):
    x, y, xt, yt = _toy()
    widths = [3, 5, 8, 20, 7]
    a = dd.train_width_sweep(x, y, xt, yt, widths, epochs=3, groups=dd.group_widths(widths, ratio),
                             log_epochs=[3], progress=False)
    b = dd.train_one_at_a_time(x, y, xt, yt, widths, epochs=3, progress=False)
    for key in ("train_loss", "test_loss", "train_error", "test_error"):
        np.testing.assert_allclose(a[key][-1], b[key][-1], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(a["num_params"], [dd.mlp_num_params(w) for w in widths])
    net = dd.trained_mlp(a["model"], 20)
    assert sum(p.numel() for p in net.parameters()) == dd.mlp_num_params(20)
    with torch.no_grad():
        np.testing.assert_allclose(net(xt).numpy(), a["model"](xt)[3].numpy(), rtol=1e-5, atol=1e-6)


def test_padding_stays_zero_and_sweep_is_seeded():
    x, y, xt, yt = _toy()
    r1 = dd.train_width_sweep(x, y, xt, yt, [2, 6], epochs=2, groups=[[2, 6]], progress=False)
    W1 = r1["model"].group_params(0)[0].detach()
    assert torch.all(W1[0, :, 2:] == 0)  # the width-2 model padded to 6
    r2 = dd.train_width_sweep(x, y, xt, yt, [2, 6], epochs=2, groups=[[2, 6]], progress=False)
    np.testing.assert_array_equal(r1["test_loss"], r2["test_loss"])
    assert list(r1["epochs"]) == [1, 2] and r1["test_error"].shape == (2, 2)


def test_sweep_script_quick(tmp_path):
    out = tmp_path / "sweep.npz"
    subprocess.run([sys.executable, str(ROOT / "tools" / "double_descent_sweep.py"), "--quick", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=120)
    data = dd.load_sweep(out)
    assert int(data["complete"]) == 1
    settings = json.loads(str(data["settings"]))
    assert settings["widths"] == list(data["widths"])
    assert data["test_error"].shape == (len(data["epochs"]), len(data["widths"]))


def test_shipped_sweep_is_valid():
    data = dd.load_sweep()
    settings = json.loads(str(data["settings"]))
    assert settings["num_train"] == 4000 and settings["noise"] == 0.15
    assert data["test_error"].shape == (len(data["epochs"]), len(data["widths"]))
    assert np.all((data["test_error"] >= 0) & (data["test_error"] <= 100))
    assert dd.SWEEP_ASSET.stat().st_size < 200_000
