"""A short, readable training loop that records what you should look at: losses and gradients.

Plot your losses, watch your gradients::

    from course_utils.training import fit
    history = fit(model, (X_train, y_train), (X_val, y_val), epochs=20, lr=0.1)
    history.plot()              # loss (and accuracy) curves + gradient norm per layer
    history.final("val_acc")    # e.g. 0.93

The loop in :func:`fit` is the textbook one -- forward, loss, ``zero_grad``, backward, step --
plus bookkeeping. Read it. If the loss becomes NaN or infinite (try a huge learning rate),
training stops and ``history.diverged`` is True with a message saying where.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from course_utils.reproducibility import device as default_device, seed_everything

__all__ = ["History", "fit", "evaluate", "accuracy", "predict", "layer_grad_norms"]

_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
_NAN = float("nan")


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------
@dataclass
class History:
    """What :func:`fit` recorded. Per-epoch lists all have one entry per epoch run.

    Attributes:
        epoch: epoch numbers 1, 2, ...
        train_loss: mean training loss over the epoch's mini-batches (weighted by batch size),
            measured while the weights were changing.
        val_loss: validation loss after the epoch (NaN without validation data).
        train_acc, val_acc: accuracy in [0, 1], same timing as the losses; NaN for regression
            or without validation data.
        step_loss: the loss of every optimization step, in order.
        grad_norms: layer name -> per-epoch L2 norm of that layer's weight gradient, **averaged
            over the epoch's steps** (see :func:`layer_grad_norms`); empty if not recorded.
        lr: the learning rate at the end of each epoch (of the first parameter group).
        seconds: wall-clock seconds each epoch took (training + validation).
        diverged: True if training stopped because the loss became NaN or infinite.
        message: why training stopped early ("" if it ran all epochs).
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    grad_norms: dict = field(default_factory=dict)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    diverged: bool = False
    message: str = ""

    _PER_EPOCH = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds")

    def as_dict(self) -> dict:
        """A plain dict of (copied) lists, e.g. for ``pandas.DataFrame`` or JSON."""
        return dataclasses.asdict(self)

    def final(self, metric: str) -> float:
        """The last recorded value of a per-epoch metric, e.g. ``final("val_acc")``.

        Raises:
            ValueError: an unknown metric (the message lists the valid ones), or no epoch ran.
        """
        if metric not in self._PER_EPOCH:
            raise ValueError(f"unknown metric {metric!r}; choose one of {list(self._PER_EPOCH)}")
        values = getattr(self, metric)
        if not values:
            raise ValueError("the history is empty: no epoch was recorded")
        return values[-1]

    def _stop_diverged(self, epoch: int, lr: float) -> None:
        self.diverged = True
        self.message = (f"the loss became {self.step_loss[-1]} at epoch {epoch} (step {len(self.step_loss)}); "
                        f"either the learning rate lr={lr:g} is too large for this model, or the initial "
                        "weights are (too large a scale makes huge logits and huge first gradients, "
                        "notebook 02): lower lr or check the initialisation")

    def _end_epoch(self, epoch: int, stats: "_EpochStats", val_loss: float, val_acc: float, lr: float,
                   seconds: float) -> None:
        """Append one epoch; a diverged epoch's training loss is the non-finite loss."""
        if stats.n == 0 and not self.diverged:
            raise ValueError("the training data yielded no batches")
        self.epoch.append(epoch)
        self.train_loss.append(self.step_loss[-1] if self.diverged else stats.loss_sum / stats.n)
        self.train_acc.append(_NAN if self.diverged else stats.correct_sum / stats.n)
        self.val_loss.append(val_loss)
        self.val_acc.append(val_acc)
        self.lr.append(lr)
        self.seconds.append(seconds)
        norms = stats.mean_grad_norms()
        for layer in norms:
            self.grad_norms.setdefault(layer, [_NAN] * (len(self.epoch) - 1))
        for layer, values in self.grad_norms.items():
            values.append(norms.get(layer, _NAN))

    def plot(self, axes=None):
        """Draw loss curves, accuracy curves (classification only) and gradient norms per layer.

        Args:
            axes: a sequence of matplotlib Axes, one per panel (2 or 3, see below); None makes
                a new figure with :func:`course_utils.plots.new_figure`.
        Returns:
            The matplotlib ``Figure``. Panels: loss vs epoch; accuracy vs epoch if any accuracy
            was recorded; gradient norm per layer vs epoch (log y) if recorded.
        """
        from course_utils import plots  # lazy: only plotting needs matplotlib

        def finite(values):
            return any(math.isfinite(v) for v in values)

        epochs = self.epoch
        panels = [("loss", "Plot your losses", {"train": self.train_loss, "validation": self.val_loss}, False)]
        if finite(self.train_acc) or finite(self.val_acc):
            panels.append(("accuracy", "Accuracy", {"train": self.train_acc, "validation": self.val_acc}, False))
        if self.grad_norms:
            norms = {f"layer {name}": values for name, values in self.grad_norms.items()}
            panels.append(("gradient norm (weights)", "Watch your gradients", norms, True))
        if axes is None:
            _, axes = plots.new_figure(1, len(panels), squeeze=False)
            axes = list(axes[0])
        else:
            axes = list(axes)
            if len(axes) != len(panels):
                raise ValueError(f"this history needs {len(panels)} axes ({[p[0] for p in panels]}), got {len(axes)}")
        if not epochs:
            raise ValueError("the history is empty: nothing to plot")
        for ax, (ylabel, title, curves, logy) in zip(axes, panels):
            curves = {label: (epochs, values) for label, values in curves.items() if finite(values)}
            if curves:
                plots.plot_curves(curves, ax=ax, xlabel="epoch", ylabel=ylabel, title=title, logy=logy)
        axes[-1].figure.suptitle("Diverged: " + self.message if self.diverged else "")
        return axes[0].figure


# --------------------------------------------------------------------------------------------
# Small helpers: metrics, gradient norms, data
# --------------------------------------------------------------------------------------------
def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of correct predictions, a float in [0, 1].

    Args:
        logits: model outputs, shape (N, C) (class = argmax), or (N,) / (N, 1) for a binary
            classifier (class 1 where the logit is > 0).
        y: integer class labels, shape (N,).
    Raises:
        ValueError: mismatched lengths or shapes, or no samples.
    """
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.ndim == 1:
        predicted = (logits > 0).long()
    elif logits.ndim == 2:
        predicted = logits.argmax(dim=1)
    else:
        raise ValueError(f"logits must have shape (N, C), (N,) or (N, 1), got {tuple(logits.shape)}")
    if y.ndim != 1 or len(y) != len(predicted) or len(y) == 0:
        raise ValueError(f"y must have shape ({len(predicted)},) to match logits {tuple(logits.shape)}, "
                         f"got {tuple(y.shape)}")
    return (predicted == y).sum().item() / len(y)


def layer_grad_norms(model: nn.Module) -> dict[str, float]:
    """L2 norm of the weight gradient of every layer that has one, from input to output.

    Returns:
        dict layer name -> norm (float), e.g. ``{"0": 0.12, "2": 0.05}`` for an
        ``nn.Sequential``. The name is the module's name in ``model.named_modules()``
        (``"weight"`` for a model that is itself a single layer). Only parameters called
        ``weight`` with a ``.grad`` count (biases are skipped). The order is the order the
        layers were registered, which is input to output for ``nn.Sequential`` and for models
        that create their layers in that order.
    """
    norms = {}
    for name, param in model.named_parameters():
        if name.rsplit(".", 1)[-1] == "weight" and param.grad is not None:
            layer = name[: -len(".weight")] if "." in name else name
            norms[layer] = torch.linalg.vector_norm(param.grad.detach()).item()
    return norms


def _is_class_labels(y) -> bool:
    y = torch.as_tensor(y)
    if y.dtype == torch.bool:
        raise TypeError("targets are booleans: use y.long() for class labels or y.float() for regression")
    return not (y.is_floating_point() or y.is_complex())


def _check_data(data, name: str):
    """Validate ``(X, y)`` tensors (converted from NumPy if needed) or a DataLoader."""
    if isinstance(data, DataLoader):
        return data
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be an (X, y) pair of tensors or a DataLoader, got {type(data).__name__}")
    X, y = (torch.as_tensor(part) for part in data)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"{name}: X and y must have the same number of samples (first dimension), "
                         f"got X {tuple(X.shape)} and y {tuple(y.shape)}")
    if len(X) == 0:
        raise ValueError(f"{name} has no samples")
    return X, y


def _batches(data, batch_size: int, shuffle: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches ``(xb, yb)`` from a DataLoader or from ``(X, y)`` tensors.

    For tensors this indexes a random permutation (from torch's global generator, so
    ``seed_everything`` makes it repeatable) -- much faster than a DataLoader for small data.
    """
    if isinstance(data, DataLoader):
        yield from data
        return
    X, y = data
    order = torch.randperm(len(X)) if shuffle else torch.arange(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def _targets(data):
    """The targets of the first sample (to choose the default loss)."""
    if isinstance(data, DataLoader):
        try:
            return data.dataset[0][1]
        except (TypeError, IndexError, KeyError, NotImplementedError):
            return next(iter(data))[1]
    return data[1]


def _mse(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error; a target of shape (N,) is matched to an output of shape (N, 1)."""
    if output.shape != y.shape:
        if output.numel() != y.numel():
            raise ValueError(f"regression output has shape {tuple(output.shape)} but targets have shape "
                             f"{tuple(y.shape)}; they must hold the same number of values")
        y = y.reshape(output.shape)
    return F.mse_loss(output, y.to(output.dtype))


def _default_loss(classification: bool) -> Callable:
    return nn.CrossEntropyLoss() if classification else _mse


def _make_optimizer(optimizer, model: nn.Module, lr: float, momentum: float, weight_decay: float):
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer  # used as is: lr, momentum and weight_decay are then ignored
    if not isinstance(optimizer, str) or optimizer.lower() not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(_OPTIMIZERS)} or a torch.optim.Optimizer, got {optimizer!r}")
    name = optimizer.lower()
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if momentum:
        raise ValueError(f"momentum only applies to optimizer='sgd' ({name} has its own betas), got momentum={momentum}")
    return _OPTIMIZERS[name](model.parameters(), lr=lr, weight_decay=weight_decay)


def _check_number(name: str, value, low: float, integer: bool = False, strict: bool = False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) \
            or value < low or (strict and value == low):
        bound = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"{name} must be {'an integer' if integer else 'a finite number'} {bound}, got {value!r}")


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return torch.device("cpu") if param is None else param.device


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model: nn.Module, data, loss_fn: Callable | None = None, batch_size: int = 512,
             device=None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``data``, without changing the model.

    Args:
        model: a ``torch.nn.Module`` (evaluated in ``eval()`` mode; its mode is restored).
        data: ``(X, y)`` tensors or a DataLoader.
        loss_fn: ``loss_fn(output, y)`` returning a batch *mean*; default cross-entropy for
            integer labels, mean squared error otherwise.
        batch_size: samples per forward pass (tensor data only).
        device: where to compute; default the model's device.
    Returns:
        ``(loss, accuracy)`` as floats; the loss is averaged over samples; accuracy is in
        [0, 1], or NaN for regression (float targets).
    """
    data = _check_data(data, "data")
    _check_number("batch_size", batch_size, 1, integer=True)
    device = _model_device(model) if device is None else torch.device(device)
    classification = _is_class_labels(_targets(data))
    loss_fn = loss_fn or _default_loss(classification)
    was_training = model.training
    model.eval()
    total_loss, total_correct, n = 0.0, 0.0, 0
    try:
        for xb, yb in _batches(data, batch_size, shuffle=False):
            xb, yb = xb.to(device), yb.to(device)
            output = model(xb)
            total_loss += loss_fn(output, yb).item() * len(xb)
            if classification:
                total_correct += accuracy(output, yb) * len(xb)
            n += len(xb)
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("data has no samples")
    return total_loss / n, (total_correct / n if classification else _NAN)


@torch.no_grad()
def predict(model: nn.Module, X, batch_size: int = 512) -> torch.Tensor:
    """Model outputs for inputs ``X`` (a tensor or array of shape (N, ...)), in eval mode.

    Returns:
        The outputs concatenated along dimension 0, on the CPU, e.g. logits of shape (N, C).
    """
    X = torch.as_tensor(X)
    _check_number("batch_size", batch_size, 1, integer=True)
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"X must have shape (N, ...) with N >= 1, got {tuple(X.shape)}")
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        outputs = [model(X[i:i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outputs)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
def fit(model: nn.Module, train, val=None, *, epochs: int = 10, lr: float = 1e-2, optimizer="sgd",
        loss_fn: Callable | None = None, batch_size: int = 64, device=None, weight_decay: float = 0.0,
        momentum: float = 0.0, record_grad_norms: bool = True, progress: bool = True, seed: int | None = None,
        desc: str = "training", callback: Callable | None = None) -> History:
    """Train ``model`` with mini-batch gradient descent and return its :class:`History`.

    Args:
        model: a ``torch.nn.Module`` with trainable parameters; trained in place.
        train: training data, ``(X, y)`` tensors (shuffled every epoch) or a DataLoader.
            Integer ``y`` = class labels (model outputs logits of shape (N, C)); float ``y`` =
            regression targets.
        val: optional validation data, same forms; evaluated after every epoch.
        epochs: number of passes over ``train``, >= 1.
        lr: learning rate, > 0.
        optimizer: ``"sgd"``, ``"adam"``, ``"adamw"`` or a ready ``torch.optim.Optimizer``
            (which is used as is: ``lr``, ``momentum`` and ``weight_decay`` are then ignored).
        loss_fn: ``loss_fn(output, y)`` returning the batch mean; default cross-entropy for
            integer labels, mean squared error for float targets.
        batch_size: samples per step for tensor data (a DataLoader has its own).
        device: where to train; default :func:`course_utils.reproducibility.device`.
        weight_decay: L2 penalty coefficient, >= 0.
        momentum: SGD momentum in [0, 1).
        record_grad_norms: record each layer's weight-gradient norm (``history.grad_norms``).
        progress: show a progress bar over epochs with the latest losses and accuracies.
        seed: if given, call ``seed_everything(seed)`` first; this fixes the shuffling (and
            dropout). Create the model after seeding too for identical initial weights.
        desc: the progress bar's label.
        callback: called as ``callback(epoch, history)`` after every epoch; return True to
            stop training.
    Returns:
        A :class:`History`. If the loss becomes NaN or infinite, training stops with
        ``history.diverged = True`` and ``history.message`` explaining, instead of raising.
    Raises:
        ValueError: bad arguments (e.g. ``epochs < 1``, unknown optimizer, X and y of
            different lengths).
    """
    from tqdm.auto import tqdm

    if not isinstance(model, nn.Module) or not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"model must be a torch.nn.Module with trainable parameters, got {type(model).__name__}")
    _check_number("epochs", epochs, 1, integer=True)
    _check_number("lr", lr, 0, strict=True)
    _check_number("batch_size", batch_size, 1, integer=True)
    _check_number("weight_decay", weight_decay, 0)
    _check_number("momentum", momentum, 0)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable, got {type(callback).__name__}")
    train = _check_data(train, "train")
    val = None if val is None else _check_data(val, "val")
    if seed is not None:
        seed_everything(seed)
    device = default_device(verbose=False) if device is None else torch.device(device)
    model.to(device)
    optimizer = _make_optimizer(optimizer, model, lr, momentum, weight_decay)
    classification = _is_class_labels(_targets(train))
    loss_fn = loss_fn or _default_loss(classification)
    history = History()

    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, unit="epoch")
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        stats = _EpochStats()
        for xb, yb in _batches(train, batch_size, shuffle=True):
            xb, yb = xb.to(device), yb.to(device)
            output = model(xb)                        # 1. forward
            loss = loss_fn(output, yb)                # 2. loss (a batch mean)
            history.step_loss.append(loss.item())
            if not math.isfinite(history.step_loss[-1]):
                history._stop_diverged(epoch, optimizer.param_groups[0]["lr"])  # NaN/inf: stop
                break
            optimizer.zero_grad()                     # 3. backward: fills every p.grad
            loss.backward()
            if record_grad_norms:
                stats.grad_norms.append(layer_grad_norms(model))
            optimizer.step()                          # 4. update: p -= lr * p.grad (for SGD)
            stats.add(history.step_loss[-1], len(xb), accuracy(output, yb) if classification else _NAN)

        val_loss, val_acc = _NAN, _NAN
        if val is not None and not history.diverged:
            val_loss, val_acc = evaluate(model, val, loss_fn, device=device)
        history._end_epoch(epoch, stats, val_loss, val_acc, optimizer.param_groups[0]["lr"],
                           time.perf_counter() - start)
        bar.set_postfix_str(_summary(history), refresh=False)
        if history.diverged:
            print(f"Training stopped: {history.message}")
            break
        if callback is not None and callback(epoch, history):
            history.message = f"stopped by the callback after epoch {epoch}"
            break
    bar.close()
    return history


@dataclass
class _EpochStats:
    """Running sums over one epoch's steps."""

    n: int = 0
    loss_sum: float = 0.0
    correct_sum: float = 0.0
    grad_norms: list = field(default_factory=list)  # one dict layer -> norm per step

    def add(self, loss: float, batch_size: int, acc: float) -> None:
        self.n += batch_size
        self.loss_sum += loss * batch_size
        self.correct_sum += acc * batch_size

    def mean_grad_norms(self) -> dict:
        layers = dict.fromkeys(layer for step in self.grad_norms for layer in step)  # ordered set
        return {layer: sum(s[layer] for s in self.grad_norms if layer in s)
                / sum(layer in s for s in self.grad_norms) for layer in layers}


def _summary(history: History) -> str:
    """'loss 0.123, acc 95.0% | val loss 0.2, val acc 93.0%' for the progress bar."""
    parts = []
    for label, loss, acc in (("", history.train_loss[-1], history.train_acc[-1]),
                             ("val ", history.val_loss[-1], history.val_acc[-1])):
        if math.isfinite(loss) or not label:
            parts.append(f"{label}loss {loss:.4g}" + (f", {label}acc {acc:.1%}" if math.isfinite(acc) else ""))
    return " | ".join(parts)
