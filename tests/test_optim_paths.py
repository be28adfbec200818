"""Tests for course_utils.optim_paths: quadratic losses and gradient-descent paths."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.optim_paths import Quadratic, gd_path, loss_grid, whiten


def _data(n=200, rho=0.9, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    X = np.stack([z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho ** 2) * z[:, 1]], axis=1) * [1.0, 4.0] + [1.0, 4.0]
    y = X @ [0.5, -0.2] + 0.1 * rng.standard_normal(n)
    return X, y


def test_least_squares_matches_mean_squared_error_and_gradient():
    X, y = _data()
    q = Quadratic.least_squares(X, y)
    w = np.array([0.3, -1.1])
    assert np.isclose(q.loss(w), np.mean((X @ w - y) ** 2))
    eps = 1e-6
    numeric = [(q.loss(w + eps * e) - q.loss(w - eps * e)) / (2 * eps) for e in np.eye(2)]
    assert np.allclose(q.grad(w), numeric, rtol=1e-5)
    assert np.allclose(q.minimizer, np.linalg.lstsq(X, y, rcond=None)[0])
    assert q.loss(np.zeros((3, 4, 2))).shape == (3, 4)


def test_condition_number_ravine_standardised_whitened():
    X, y = _data()
    raw = Quadratic.least_squares(X, y - y.mean())
    Z = (X - X.mean(0)) / X.std(0)
    std = Quadratic.least_squares(Z, y - y.mean())
    white = Quadratic.least_squares(whiten(X), y - y.mean())
    assert raw.condition_number > 100
    assert 10 < std.condition_number < 30  # (1 + rho) / (1 - rho) = 19 for rho = 0.9
    assert np.isclose(white.condition_number, 1.0)
    assert np.allclose(white.H, 2 * np.eye(2))


def test_gd_path_converges_and_diverges():
    q = Quadratic(H=np.diag([1.0, 10.0]), g=np.array([1.0, 10.0]))
    path = gd_path(q, [0.0, 0.0], lr=0.1, steps=200)
    assert path.shape == (201, 2)
    assert np.allclose(path[-1], q.minimizer, atol=1e-6)
    bad = gd_path(q, [0.0, 0.0], lr=0.21, steps=10_000)  # > 2 / lambda_max
    assert len(bad) < 10_001
    with pytest.raises(ValueError):
        gd_path(q, [0.0, 0.0], lr=-1, steps=3)


def test_loss_grid_and_whiten_other():
    q = Quadratic(H=np.eye(2) * 2, g=np.zeros(2))
    W1, W2, L = loss_grid(q, (-1, 1), (-2, 2), n=11)
    assert W1.shape == W2.shape == L.shape == (11, 11)
    assert np.isclose(L.min(), 0.0)
    X, _ = _data()
    Wt, Wo = whiten(X[:150], X[150:])
    assert np.allclose(np.cov(Wt, rowvar=False, bias=True), np.eye(2), atol=1e-8)
    assert Wo.shape == (50, 2)
