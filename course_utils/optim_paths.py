"""Gradient descent on a 2-D quadratic loss: the "ravine" of correlated, unscaled features.

Least squares with two weights and no bias, ``L(w) = mean((X w - y)^2)``, is a quadratic bowl::

    L(w) = 1/2 w^T H w - g^T w + c,   H = 2/n X^T X,   g = 2/n X^T y,   c = mean(y^2)

whose shape is set by the features alone: its Hessian ``H`` has condition number
``lambda_max / lambda_min``. Correlated or unscaled features make it a long narrow ravine, and
gradient descent zig-zags across it; standardised features make it rounder, whitened ones make it a
perfect bowl (``H = 2 I``)::

    q = Quadratic.least_squares(X, y)
    path = gd_path(q, w0=[0, 0], lr=1 / q.eigenvalues[-1], steps=50)   # (51, 2) iterates
    q.loss(path)                                                        # (51,) losses

Everything is NumPy float64 (this is a picture, not a network).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Quadratic", "gd_path", "loss_grid", "whiten"]


@dataclass(frozen=True)
class Quadratic:
    """The loss ``L(w) = 1/2 w^T H w - g^T w + c`` with symmetric positive definite ``H`` (d, d)."""

    H: np.ndarray
    g: np.ndarray
    c: float = 0.0

    @classmethod
    def least_squares(cls, X, y) -> "Quadratic":
        """``L(w) = mean((X w - y)^2)`` for ``X`` (n, d) and ``y`` (n,)."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if X.ndim != 2 or len(X) != len(y) or len(X) == 0:
            raise ValueError(f"need X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}")
        n = len(X)
        return cls(H=2.0 / n * X.T @ X, g=2.0 / n * X.T @ y, c=float(np.mean(y ** 2)))

    @property
    def minimizer(self) -> np.ndarray:
        """The w where the gradient ``H w - g`` is zero."""
        return np.linalg.solve(self.H, self.g)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``H``, ascending: the curvatures along the bowl's axes."""
        return np.linalg.eigvalsh(self.H)

    @property
    def condition_number(self) -> float:
        """``lambda_max / lambda_min``: 1 for a round bowl, large for a ravine."""
        ev = self.eigenvalues
        return float(ev[-1] / ev[0])

    def loss(self, w) -> np.ndarray:
        """The loss at ``w`` of shape (d,) -> float, or at many points (..., d) -> (...)."""
        w = np.asarray(w, dtype=np.float64)
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.H, w) - w @ self.g + self.c

    def grad(self, w) -> np.ndarray:
        """The gradient ``H w - g`` at ``w`` (d,) or (..., d)."""
        w = np.asarray(w, dtype=np.float64)
        return w @ self.H.T - self.g


def gd_path(q: Quadratic, w0, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent ``w <- w - lr * grad L(w)``; returns all iterates, shape (steps + 1, d).

    Stops early (and returns what it has) if the iterates overflow: that is divergence,
    which happens exactly when ``lr > 2 / lambda_max``.
    """
    if not lr > 0 or int(steps) != steps or steps < 0:
        raise ValueError(f"need lr > 0 and an integer steps >= 0, got lr={lr!r}, steps={steps!r}")
    w = np.asarray(w0, dtype=np.float64).copy()
    path = [w.copy()]
    for _ in range(int(steps)):
        w = w - lr * q.grad(w)
        if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e12:
            break
        path.append(w.copy())
    return np.stack(path)


def loss_grid(q: Quadratic, xlim, ylim, n: int = 101):
    """Loss on an n x n grid of 2-D weights, for contour plots: returns ``(W1, W2, L)``, each (n, n)."""
    if q.H.shape != (2, 2):
        raise ValueError(f"loss_grid draws 2-D losses only, got H of shape {q.H.shape}")
    W1, W2 = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    return W1, W2, q.loss(np.stack([W1, W2], axis=-1))


def whiten(X_train, X_other=None, eps: float = 1e-12):
    """ZCA whitening with the training statistics: ``(X - mean) @ C^(-1/2)``, C the training covariance.

    The whitened training features have zero mean and identity covariance (biased, 1/n). Returns the
    whitened ``X_train`` or, if ``X_other`` is given, the pair (whitened train, whitened other).
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    mean = X_train.mean(axis=0)
    cov = np.cov(X_train - mean, rowvar=False, bias=True)
    vals, vecs = np.linalg.eigh(np.atleast_2d(cov))
    inv_sqrt = vecs @ np.diag(1.0 / np.sqrt(np.maximum(vals, 0) + eps)) @ vecs.T
    out = (X_train - mean) @ inv_sqrt
    if X_other is None:
        return out
    return out, (np.asarray(X_other, dtype=np.float64) - mean) @ inv_sqrt
