"""Weight initialisation experiments: set every Linear layer to N(0, std^2) and watch the signal.

The lesson on initialisation (and the later ones on normalisation) repeat one experiment from the
review lecture's figure 7.4: a deep MLP whose weights are all drawn from N(0, sigma^2), biases zero,
fed a standard-normal batch; how does the variance of the activations (forward) and of the
gradients (backward) change from layer to layer? ::

    sweep = variance_sweep([0.001, 0.01, 0.02, 0.1, 1.0], depth=50, width=100, variance=True)
    sweep["act_var"]        # (5, 50) array: per sigma^2, the activation variance of every hidden layer
    sweep["grad_var"]       # (5, 50) array: variance of dLoss/d(layer output)

The values span well over 100 orders of magnitude, beyond float32 (about 1e-45 .. 3e38), so the
sweep runs in float64 on the CPU: it is small (a few ms per setting).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_utils.nets import layer_statistics, make_mlp

__all__ = ["init_normal_", "propagation_stats", "variance_sweep"]


def init_normal_(model: nn.Module, std: float | Callable[[int, int], float], bias: float = 0.0) -> nn.Module:
    """Draw the weights of **every** ``nn.Linear`` in ``model`` from N(0, std^2); set biases to ``bias``.

    Args:
        model: any module; all its ``nn.Linear`` submodules (the output layer too) are changed in place.
        std: the weights' standard deviation (>= 0; 0 gives all-zero weights), or a function
            ``std(fan_in, fan_out) -> float`` evaluated per layer.
        bias: the constant every bias is set to.
    Returns:
        ``model`` (for chaining). Uses torch's global random generator: seed first.
    """
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            s = std(layer.in_features, layer.out_features) if callable(std) else std
            if not s >= 0:
                raise ValueError(f"std must be >= 0, got {s!r}")
            with torch.no_grad():
                layer.weight.normal_(0.0, float(s)) if s > 0 else layer.weight.zero_()
                if layer.bias is not None:
                    layer.bias.fill_(bias)
    return model


def _squared_error_to_zero(output: torch.Tensor, _y) -> torch.Tensor:
    """Least squares against a target fixed at 0 (figure 7.4's loss), summed over the batch."""
    return (output ** 2).sum()


def propagation_stats(std: float, *, depth: int = 50, width: int = 100, activation: str = "relu",
                      batch: int = 256, seed: int = 0, loss: str = "squared") -> dict[str, np.ndarray]:
    """One forward/backward pass through a freshly initialised deep MLP (float64, CPU).

    The network is ``make_mlp(width, 1, width, depth, activation)`` with every weight ~ N(0, std^2)
    and zero biases; the input is a (batch, width) standard-normal batch.

    Args:
        std: weight standard deviation (sigma, not sigma^2).
        loss: ``"squared"`` -- least squares with the target fixed at 0, as in figure 7.4 -- or
            ``"sum"`` -- the output summed, i.e. a unit gradient at the output whatever its size,
            which shows the backward pass alone.
        seed: fixes both the weights and the input batch (the global RNG is left as it was).
    Returns:
        dict of float64 arrays of length ``depth`` (input side first): ``act_var``, ``act_std``
        (of each hidden layer's output) and ``grad_var``, ``grad_std`` (of dLoss/d(layer output)).
    """
    if loss not in ("squared", "sum"):
        raise ValueError(f"loss must be 'squared' or 'sum', got {loss!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = make_mlp(width, 1, width=width, depth=depth, activation=activation).double()
        init_normal_(net, std)
        x = torch.randn(batch, width, dtype=torch.float64)
    stats = layer_statistics(net, x, loss_fn=_squared_error_to_zero if loss == "squared" else None)
    act_std = np.array(stats["act_std"])
    grad_std = np.array(stats["act_grad_std"])
    return {"act_var": np.array(stats["act_var"]), "act_std": act_std,
            "grad_var": grad_std ** 2, "grad_std": grad_std}


def variance_sweep(sigmas: Sequence[float], *, variance: bool = False, **kwargs) -> dict[str, np.ndarray]:
    """:func:`propagation_stats` for several weight scales, stacked.

    Args:
        sigmas: the weight scales; standard deviations, or variances sigma^2 if ``variance=True``.
        **kwargs: passed to :func:`propagation_stats` (depth, width, activation, batch, seed, loss).
    Returns:
        dict with ``sigma`` (the stds used, shape (S,)) and ``act_var``, ``act_std``, ``grad_var``,
        ``grad_std`` of shape (S, depth).
    """
    stds = [float(np.sqrt(s)) if variance else float(s) for s in sigmas]
    runs = [propagation_stats(s, **kwargs) for s in stds]
    out = {key: np.stack([r[key] for r in runs]) for key in runs[0]}
    out["sigma"] = np.array(stds)
    return out
