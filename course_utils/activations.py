"""Watching activations in a network: hidden pre-activations and dead units.

A ReLU unit is *dead* on a batch when its pre-activation ``z = w.x + b`` is ``<= 0`` for **every**
example of the batch: it then outputs 0 and passes no gradient back for any of them, so (for a unit
fed by fixed inputs) gradient descent never changes its weights again. Deadness is a property of a
*unit over the whole batch*, not of single (example, unit) entries::

    zs = hidden_preactivations(model, X)       # one (N, units) tensor per hidden Linear layer
    dead_unit_fraction(zs[0])                  # fraction of layer-1 units dead on all of X

and evaluating activation functions with their derivatives (by autograd), for the figures that put them
side by side (lecture figures 10-14)::

    f, d = value_and_derivative(torch.sigmoid, torch.linspace(-6, 6, 601))
    plot_activations({"sigmoid": torch.sigmoid, "ReLU": torch.relu})
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from course_utils.nets import hidden_linears

__all__ = ["hidden_preactivations", "dead_unit_fraction", "value_and_derivative", "plot_activations"]


def hidden_preactivations(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The outputs of the model's hidden ``nn.Linear`` layers (their pre-activations) on a batch.

    Args:
        model: a network whose hidden layers are ``nn.Linear`` (see
            :func:`course_utils.nets.hidden_linears`: every Linear except the last).
        x: a batch (N, in_features) on the model's device.
    Returns:
        A list with one detached tensor (N, out_features) per hidden Linear, input side first.
        Runs without gradients and leaves the model unchanged.
    """
    found: list[torch.Tensor] = []
    handles = [lin.register_forward_hook(lambda _m, _inp, out: found.append(out.detach()))
               for lin in hidden_linears(model)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return found


def dead_unit_fraction(preacts: torch.Tensor) -> float:
    """Fraction of units whose pre-activation is ``<= 0`` for every example of the batch.

    Args:
        preacts: pre-activations of one layer, shape (N, units), N >= 1.
    Returns:
        A float in [0, 1]: (number of columns that are ``<= 0`` in every row) / units.
    Raises:
        ValueError: ``preacts`` is not a non-empty 2-D tensor.
    """
    if not isinstance(preacts, torch.Tensor) or preacts.dim() != 2 or preacts.numel() == 0:
        shape = tuple(preacts.shape) if isinstance(preacts, torch.Tensor) else type(preacts).__name__
        raise ValueError(f"preacts must be a non-empty (N, units) tensor, got {shape}")
    return float((preacts <= 0).all(dim=0).float().mean())


def value_and_derivative(fn: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor):
    """An element-wise activation and its derivative, by autograd.

    Args:
        fn: an element-wise function tensor -> tensor (e.g. ``torch.sigmoid``).
        z: a floating tensor of any shape; not modified.
    Returns:
        ``(fn(z), fn'(z))``, two detached tensors shaped like ``z``. The derivative is what autograd
        computes, so it follows PyTorch's conventions at kinks (ReLU'(0) = 0, leaky ReLU'(0) = slope).
    """
    z = z.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = fn(z)
        out.sum().backward()  # each output depends only on its own input, so z.grad = fn'(z)
    return out.detach(), z.grad.detach()


def plot_activations(activations: Mapping[str, Callable[[torch.Tensor], torch.Tensor]], z_max: float = 6.0,
                     axes=None, num: int = 601):
    """Draw activations (left) and their derivatives (right) on ``[-z_max, z_max]``.

    Args:
        activations: dict label -> element-wise function.
        z_max: half-width of the range of pre-activations, > 0.
        axes: two matplotlib axes; ``None`` makes a new 1 x 2 figure.
        num: number of points.
    Returns:
        The two axes ``(ax_f, ax_d)``, titled and labelled, with a legend on the left one.
    """
    import matplotlib.pyplot as plt

    if not activations:
        raise ValueError("activations is empty: pass at least one label -> function")
    if not z_max > 0:
        raise ValueError(f"z_max must be > 0, got {z_max!r}")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_f, ax_d = axes
    z = torch.linspace(-z_max, z_max, num)
    for label, fn in activations.items():
        f, d = value_and_derivative(fn, z)
        ax_f.plot(z, f, label=label)
        ax_d.plot(z, d, label=label)
    ax_f.set(title="activation g(z)", xlabel="pre-activation z", ylabel="g(z)")
    ax_d.set(title="derivative g'(z)", xlabel="pre-activation z", ylabel="g'(z)")
    ax_f.legend(loc="upper left")
    return ax_f, ax_d
