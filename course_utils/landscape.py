"""Loss-landscape slices along random filter-normalised directions (Li et al., NeurIPS 2018).

A network's loss is a function of millions of weights; we can only look at a line or a plane
through the trained weights ``θ*``::

    f(α)    = L(θ* + α δ)                 (1-D slice)
    f(α, β) = L(θ* + α δ + β η)           (2-D slice)

Plain random directions mislead: a layer whose weights are large looks flat, a small one
sharp, because the same step means different things. **Filter normalisation** rescales each
filter of the random direction (a row of a ``Linear`` weight -- one unit's incoming weights --
or one output channel of a convolution) to the norm of the corresponding filter of ``θ*``;
directions for biases and other 1-D parameters are set to zero, as in the paper.

The model is never modified: the loss is evaluated with ``torch.func.functional_call``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.func import functional_call

__all__ = ["filter_normalized_direction", "loss_slice_1d", "loss_slice_2d"]


def filter_normalized_direction(model: torch.nn.Module, generator: torch.Generator | None = None,
                                ignore_1d: bool = True) -> dict[str, torch.Tensor]:
    """A random Gaussian direction in weight space, filter-normalised to ``model``'s weights.

    Returns a dict parameter name -> tensor of the parameter's shape (on its device). For a
    parameter with ``ndim >= 2``, each slice ``d[i]`` is scaled to ``‖d[i]‖ = ‖θ[i]‖``;
    1-D parameters (biases, norm scales) get zeros when ``ignore_1d`` (the paper's choice).
    """
    direction = {}
    for name, p in model.named_parameters():
        d = torch.randn(p.shape, generator=generator, dtype=torch.float32).to(device=p.device, dtype=p.dtype)
        if p.ndim <= 1:
            direction[name] = torch.zeros_like(p) if ignore_1d else d * (p.detach().norm() / (d.norm() + 1e-10))
            continue
        flat_d = d.reshape(d.shape[0], -1)
        flat_p = p.detach().reshape(p.shape[0], -1)
        scale = flat_p.norm(dim=1, keepdim=True) / (flat_d.norm(dim=1, keepdim=True) + 1e-10)
        direction[name] = (flat_d * scale).reshape(p.shape)
    return direction


@torch.no_grad()
def _loss_at(model, params, loss_fn, x, y) -> float:
    return float(loss_fn(functional_call(model, params, (x,)), y))


@torch.no_grad()
def loss_slice_1d(model: torch.nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor,
                  direction: dict[str, torch.Tensor], alphas: Sequence[float]) -> np.ndarray:
    """``L(θ* + α δ)`` for each ``α`` in ``alphas``; returns a float array ``(len(alphas),)``."""
    base = {name: p.detach() for name, p in model.named_parameters()}
    return np.array([_loss_at(model, {k: v + a * direction[k] for k, v in base.items()}, loss_fn, x, y)
                     for a in alphas])


@torch.no_grad()
def loss_slice_2d(model: torch.nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor,
                  d1: dict[str, torch.Tensor], d2: dict[str, torch.Tensor], alphas: Sequence[float],
                  betas: Sequence[float]) -> np.ndarray:
    """``L(θ* + α δ + β η)`` on the grid; returns ``(len(betas), len(alphas))`` (rows: β), ready
    for ``plt.contour(alphas, betas, Z)``."""
    base = {name: p.detach() for name, p in model.named_parameters()}
    Z = np.empty((len(betas), len(alphas)))
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            Z[i, j] = _loss_at(model, {k: v + a * d1[k] + b * d2[k] for k, v in base.items()}, loss_fn, x, y)
    return Z
