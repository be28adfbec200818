"""The 1989 zip-code digit recogniser (LeCun et al., 1989), for notebook 10.

The network, as the paper describes it (16x16 input with values in ``[-1, 1]``):

=======  ==========================  ==============================================================
layer    units                       each unit sees
=======  ==========================  ==============================================================
H1       12 maps of 8x8 (768)        a 5x5 window of the input (stride 2), weights shared in a map
H2       12 maps of 4x4 (192)        5x5 windows in 8 of the 12 H1 maps (stride 2), shared weights
H3       30                          all 192 H2 units
output   10                          all 30 H3 units
=======  ==========================  ==============================================================

Every unit has its *own* bias (biases are not shared within a map), the non-linearity is tanh, the
targets are +1 for the right class and -1 for the others, the loss is the mean squared error, and the
weights start uniform in ``+-2.4 / fan_in`` (the paper's rule). Borders are padded with -1, the
background value. Which 8 of the 12 H1 maps each H2 map reads is not given in the paper: the caller
passes it as a ``(12, 12)`` boolean mask (``mask[o, i]``: H2 map ``o`` reads H1 map ``i``).

:class:`Net1989` holds ``K`` independent copies of the network ("a bank") and runs them in lockstep:
copy ``k`` sees its own examples, draws its own dropout masks and gets its own gradient, so training a
bank of ``K`` networks per example is exactly ``K`` separate per-example trainings, done with one call
per layer instead of ``K``. :func:`train_bank` trains a bank with per-example SGD or AdamW and records
the learning curves; each copy can have its own loss (MSE on tanh outputs or cross-entropy on logits),
non-linearity, dropout and input shifts (the shift function is supplied by the caller).

``tools/lecun1989_ablation.py`` trains every combination of the modern changes over several seeds and
writes :data:`RESULTS`; :func:`load_ablation` reads it back, :func:`plot_ablation` draws the bar chart.
"""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "PAPER", "KARPATHY_2022", "ILSVRC_TOP5", "HUMAN_TOP5", "CHANGES", "RESULTS",
    "Data1989", "load_digits_1989", "load_mnist_1989", "pm_one_targets",
    "Net1989", "check_mask", "mask_or_full", "count_connections", "Setting", "History", "train_bank", "train_1989", "all_settings", "error_rate", "load_ablation", "setting_key",
    "plot_ablation", "plot_ilsvrc", "ablation_explorer",
]

#: What the paper reports (LeCun et al., 1989).
PAPER = {"train_images": 7291, "test_images": 2007, "test_error": 0.05, "passes": 23,
         "units": 1256, "connections": 64660, "parameters": 9760}
#: Test errors of A. Karpathy's reproduction on MNIST at the paper's sizes (blog post, 2022).
KARPATHY_2022 = {"reproduction": 0.0414, "modern training": 0.0209, "more data": 0.0305,
                 "modern training + more data": 0.0131}
#: Top-5 error of the ILSVRC classification winner by year: (year, error, entry).
ILSVRC_TOP5 = [(2010, 0.282, "NEC-UIUC"), (2011, 0.258, "XRCE"), (2012, 0.164, "AlexNet"),
               (2013, 0.117, "Clarifai (ZFNet)"), (2014, 0.067, "GoogLeNet"), (2015, 0.036, "ResNet"),
               (2016, 0.030, "Trimps-Soushen"), (2017, 0.023, "SENet")]
#: A. Karpathy's estimate of a trained human's top-5 error on ILSVRC (2014).
HUMAN_TOP5 = 0.051
#: The modern changes of the ablation, in the order they are added: key -> description.
CHANGES = {
    "cross_entropy": "cross-entropy loss (softmax outputs) instead of MSE on +-1 targets",
    "adamw": "AdamW (weight decay 1e-4) instead of SGD, learning rate decayed linearly to 1/10",
    "shifts": "random shifts of up to 1 pixel (data augmentation)",
    "dropout": "dropout 0.25 on the 192 H2 units",
    "relu": "ReLU instead of tanh in the hidden layers",
}
RESULTS = Path(__file__).resolve().parent / "assets" / "lecun1989_ablation.json"

def _window_index(size: int, out: int) -> torch.Tensor:
    """Flat indices ``(out * out, 25)`` of the 5x5 windows, stride 2, in a padded ``size x size`` image."""
    rows = (2 * torch.arange(out)[:, None, None, None] + torch.arange(5)[None, None, :, None]) * size
    cols = 2 * torch.arange(out)[None, :, None, None] + torch.arange(5)[None, None, None, :]
    return (rows + cols).reshape(out * out, 25)


_WINDOWS_H1 = _window_index(20, 8)  # the 16x16 input padded by 2 -> 8x8 H1 maps
_WINDOWS_H2 = _window_index(12, 4)  # the 8x8 H1 maps padded by 2 -> 4x4 H2 maps

SGD_LR = 0.03
ADAMW_LR, ADAMW_WEIGHT_DECAY, FINAL_LR_FRACTION = 3e-4, 1e-4, 0.1
DROPOUT = 0.25


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
class Data1989(NamedTuple):
    """Images ``(N, 1, 16, 16)`` float32 in ``[-1, 1]`` (background -1, ink +1), labels ``(N,)`` int64."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    name: str


def _check_count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _stratified_split(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): the test set takes each class in proportion, rounded; seeded."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    order = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    share = np.array([len(o) for o in order]) * n_test / len(y)
    take = np.floor(share).astype(int)
    for i in np.argsort(-(share - take))[: n_test - take.sum()]:  # largest remainders get one more
        take[i] += 1
    test = np.concatenate([o[:t] for o, t in zip(order, take)])
    train = np.concatenate([o[t:] for o, t in zip(order, take)])
    return rng.permutation(train), rng.permutation(test)


def load_digits_1989(n_test: int = 500, seed: int = 0) -> Data1989:
    """scikit-learn's 1,797 handwritten digits (8x8), enlarged to 16x16 and scaled to ``[-1, 1]``.

    NOT the paper's data (9,298 US zip-code digits): the same kind of task at a fifth of the size,
    with no download. Enlarging is bilinear (``course_utils.data.load_digits(size=16)``).

    Args:
        n_test: images held out for testing (stratified by class), 1 <= n_test < 1797.
        seed: seed of the split.
    Returns:
        :class:`Data1989` with ``1797 - n_test`` training and ``n_test`` test images.
    """
    from course_utils.data import load_digits

    x, y = load_digits(size=16)  # (1797, 1, 16, 16) in [0, 1]
    n_test = _check_count("n_test", n_test, 1)
    if n_test >= len(y):
        raise ValueError(f"n_test must be below the {len(y)} images, got {n_test}")
    train, test = _stratified_split(y.numpy(), n_test, _check_count("seed", seed, 0))
    x = x * 2 - 1
    train, test = torch.from_numpy(train), torch.from_numpy(test)
    return Data1989(x[train].contiguous(), y[train], x[test].contiguous(), y[test], "digits (scikit-learn, 16x16)")


def load_mnist_1989(n_train: int = 7291, n_test: int = 2007, seed: int = 0) -> Data1989:
    """MNIST at the paper's sizes: random 28x28 images resized to 16x16 and scaled to ``[-1, 1]``.

    Downloads MNIST once (hash-checked, cached) through :mod:`course_utils.datasets_remote`: use it
    only when you want the full-size experiment and are online. The default sizes are the paper's.
    """
    from course_utils.datasets_remote import load_mnist

    n_train, n_test = _check_count("n_train", n_train, 1), _check_count("n_test", n_test, 1)
    gen = torch.Generator().manual_seed(_check_count("seed", seed, 0))
    parts = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = load_mnist("mnist", split=split)
        if n > len(y):
            raise ValueError(f"MNIST {split} has {len(y)} images; asked for {n}")
        pick = torch.randperm(len(y), generator=gen)[:n]
        x = F.interpolate(x[pick], size=(16, 16), mode="bilinear", antialias=True, align_corners=False)
        parts += [(x.clamp(0, 1) * 2 - 1).contiguous(), y[pick]]
    return Data1989(*parts, "MNIST resized to 16x16")


def pm_one_targets(y: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """The paper's targets: ``(N, num_classes)`` float32, +1 at the label and -1 elsewhere."""
    y = torch.as_tensor(y)
    if y.ndim != 1 or y.is_floating_point():
        raise ValueError(f"y must be a 1-D tensor of integer labels, got {y.dtype} {tuple(y.shape)}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}")
    return F.one_hot(y.long(), num_classes).float() * 2 - 1


# --------------------------------------------------------------------------------------------
# The network: a bank of K independent copies
# --------------------------------------------------------------------------------------------
def _per_model(name: str, value, k: int, cast) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * k
    if len(values) != k:
        raise ValueError(f"{name} must be one value or {k} values (one per network), got {len(values)}")
    return [cast(v) for v in values]


def check_mask(mask) -> torch.Tensor:
    """A valid H2 connection mask as a float32 ``(12, 12)`` tensor of 0/1, or a clear error."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor of shape (12, 12), got {type(mask).__name__}")
    if tuple(mask.shape) != (12, 12):
        raise ValueError(f"mask must have shape (12, 12) = (H2 maps, H1 maps), got {tuple(mask.shape)}")
    values = mask.detach().float()
    if not bool(((values == 0) | (values == 1)).all()):
        raise ValueError("mask must hold only 0/1 (or False/True)")
    return values.clone()



def mask_or_full(make_mask) -> torch.Tensor:
    """Your H2 table for the demos: ``make_mask()`` if it returns a valid ``(12, 12)`` 0/1 tensor.

    Otherwise (not written yet, an error, a wrong shape) the demos fall back to the FULL 12 -> 12 table, print
    one line saying so, and go on: every count and run below then describes a network without the paper's
    sparse H2. Returns a bool ``(12, 12)`` tensor.
    """
    try:
        return check_mask(make_mask()).bool()
    except Exception as error:  # a stub raises NotImplementedError; anything else is reported the same way
        print(f"Your connection mask is not usable yet ({type(error).__name__}: {str(error)[:80]}); the demos below "
              "use the full 12 -> 12 table instead, so their counts are not the paper's.")
        return torch.ones(12, 12, dtype=torch.bool)

class Net1989(nn.Module):
    """``n_models`` independent copies of the 1989 network, evaluated together.

    Args:
        mask: the H2 connection mask, ``(12, 12)`` bool/0-1 tensor; ``mask[o, i]`` = H2 map ``o``
            reads H1 map ``i`` (the paper: 8 ones per row). Shared by all copies.
        n_models: K, the number of independent copies.
        activation: ``"tanh"`` or ``"relu"`` for the hidden layers, one for all or a list of K.
        dropout: probability of dropping each H2 unit during training, one or a list of K.
        init: ``"paper"``: weights uniform in ``+-2.4 / fan_in``; ``"sqrt"``: ``+-2.4 / sqrt(fan_in)``
            (the reading of A. Karpathy's reproduction). A number multiplies the paper's range. One value
            for all copies or a list of K.
            Biases start at 0.
        seed: seed of the initial weights, one for all copies (each copy then draws its own weights
            from it) or a list of K: copies with the same seed start from the same weights.
    Parameters (leading dimension K): ``h1_w (K, 12, 1, 5, 5)``, ``h1_b (K, 12, 8, 8)``,
    ``h2_w (K, 12, 12, 5, 5)`` (only the entries the mask keeps are used), ``h2_b (K, 12, 4, 4)``,
    ``h3_w (K, 192, 30)``, ``h3_b (K, 30)``, ``out_w (K, 30, 10)``, ``out_b (K, 10)``.
    """

    FAN_IN = {"h1_w": 25, "h3_w": 192, "out_w": 30}

    def __init__(self, mask, n_models: int = 1, activation="tanh", dropout=0.0, init="paper", seed: int = 0):
        super().__init__()
        k = _check_count("n_models", n_models, 1)
        self.register_buffer("mask", check_mask(mask))
        acts = _per_model("activation", activation, k, str)
        if any(a not in ("tanh", "relu") for a in acts):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {sorted(set(acts))}")
        drops = _per_model("dropout", dropout, k, float)
        if any(not 0.0 <= p < 1.0 for p in drops):
            raise ValueError(f"dropout must be in [0, 1), got {drops}")
        self.n_models = k
        self.activations = acts
        self.register_buffer("relu_flag", torch.tensor([a == "relu" for a in acts]).view(1, k, 1))
        self.register_buffer("dropout_p", torch.tensor(drops).view(1, k, 1))
        self._any_dropout = any(p > 0 for p in drops)
        if isinstance(seed, (list, tuple)):
            gens = [torch.Generator().manual_seed(_check_count("seed", v, 0)) for v in _per_model("seed", seed, k, int)]
        else:  # one generator: the copies draw one after another
            gens = [torch.Generator().manual_seed(_check_count("seed", seed, 0))] * k
        fan_in_h2 = int(self.mask.sum(1).max().item()) * 25 or 1

        inits = list(init) if isinstance(init, (list, tuple)) else [init] * k
        if len(inits) != k:
            raise ValueError(f"init must be one value or {k} values (one per network), got {len(inits)}")
        for value in inits:
            if value not in ("paper", "sqrt") and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                                      and value > 0):
                raise ValueError(f"init must be 'paper', 'sqrt' or a positive number, got {value!r}")

        def bound(value, fan_in):
            if value == "sqrt":
                return 2.4 / math.sqrt(fan_in)
            return (1.0 if value == "paper" else float(value)) * 2.4 / fan_in

        def weights(*shape, fan_in):
            return nn.Parameter(torch.stack([(torch.rand(*shape, generator=g) * 2 - 1) * bound(v, fan_in)
                                             for g, v in zip(gens, inits)]))

        self.h1_w = weights(12, 1, 5, 5, fan_in=25)
        self.h1_b = nn.Parameter(torch.zeros(k, 12, 8, 8))
        self.h2_w = weights(12, 12, 5, 5, fan_in=fan_in_h2)
        self.h2_b = nn.Parameter(torch.zeros(k, 12, 4, 4))
        self.h3_w = weights(192, 30, fan_in=192)
        self.h3_b = nn.Parameter(torch.zeros(k, 30))
        self.out_w = weights(30, 10, fan_in=30)
        self.out_b = nn.Parameter(torch.zeros(k, 10))

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        """The hidden non-linearity of each copy; ``z`` is ``(B, K, ...)``."""
        if not any(a == "relu" for a in self.activations):
            return torch.tanh(z)
        if all(a == "relu" for a in self.activations):
            return torch.relu(z)
        flag = self.relu_flag.view(1, self.n_models, *([1] * (z.ndim - 2)))
        return torch.where(flag, torch.relu(z), torch.tanh(z))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None,
                hidden: bool = False) -> torch.Tensor:
        """Output pre-activations ("logits").

        Args:
            x: ``(B, K, 16, 16)`` (copy k gets ``x[:, k]``) or ``(B, 1, 16, 16)`` (every copy gets the
                same images).
            generator: for the dropout masks in training mode.
            hidden: also return the H3 activations.
        Returns:
            ``(B, K, 10)``; tanh of it is the paper's output. With ``hidden``: also ``(B, K, 30)``.
        """
        k = self.n_models
        if x.ndim != 4 or tuple(x.shape[2:]) != (16, 16) or x.shape[1] not in (1, k):
            raise ValueError(f"x must have shape (B, {k}, 16, 16) or (B, 1, 16, 16), got {tuple(x.shape)}")
        b = x.shape[0]
        # Convolutions as matrix products of gathered 5x5 windows: for one image at a time this is
        # several times faster than conv2d, and it is the same arithmetic.
        x = F.pad(x, (2, 2, 2, 2), value=-1.0).reshape(b, x.shape[1], 400)
        windows = x[:, :, _WINDOWS_H1]  # (B, K or 1, 64, 25)
        h1 = windows @ self.h1_w.reshape(k, 12, 25).transpose(1, 2)  # (B, K, 64, 12)
        h1 = self._act(h1.transpose(2, 3).reshape(b, k, 12, 8, 8) + self.h1_b)
        h1 = F.pad(h1.reshape(b, k * 12, 8, 8), (2, 2, 2, 2), value=-1.0)
        # unfold (not a gather): its backward is a fold, much faster than scattering into the gathered copies
        windows = F.unfold(h1, 5, stride=2).view(b, k, 300, 16).transpose(2, 3)  # (B, K, 16, 12 * 25)
        w2 = (self.h2_w * self.mask[None, :, :, None, None]).reshape(k, 12, 300).transpose(1, 2)
        h2 = (windows @ w2).transpose(2, 3).reshape(b, k, 12, 4, 4)
        h2 = self._act(h2 + self.h2_b).reshape(b, k, 192)
        if self.training and self._any_dropout:
            keep = torch.rand(h2.shape, generator=generator, device=h2.device) >= self.dropout_p
            h2 = h2 * keep / (1 - self.dropout_p)
        h3 = self._act(torch.baddbmm(self.h3_b.unsqueeze(1), h2.transpose(0, 1), self.h3_w).transpose(0, 1))
        out = torch.baddbmm(self.out_b.unsqueeze(1), h3.transpose(0, 1), self.out_w).transpose(0, 1)  # (B, K, 10)
        return (out, h3) if hidden else out

    def used_parameters(self) -> int:
        """Numbers the network can learn, per copy: every parameter entry the mask does not switch off."""
        total = sum(p[0].numel() for name, p in self.named_parameters() if name != "h2_w")
        return total + int(self.mask.sum().item()) * 25


def count_connections(mask) -> dict:
    """Count the network's connections by walking its windows, layer by layer.

    A connection is one (unit, input) pair with a weight, plus one per unit for its bias. Each 5x5
    window is walked tap by tap; ``"every tap"`` counts all 25 taps of every window, ``"real inputs
    only"`` leaves out the taps that fall on the -1 padding around the 16x16 image or the 8x8 H1 maps.

    Args:
        mask: the H2 connection mask (see :class:`Net1989`).
    Returns:
        ``{"every tap": {layer: count}, "real inputs only": {layer: count}}`` for layers
        ``"H1", "H2", "H3", "output"``.
    """
    mask = check_mask(mask)
    result = {}
    for name, real_only in (("every tap", False), ("real inputs only", True)):
        counts = {}
        for layer, windows, size, maps_read in (("H1", _WINDOWS_H1, 20, [1] * 12),
                                                 ("H2", _WINDOWS_H2, 12, mask.sum(1).int().tolist())):
            rows, cols = windows // size, windows % size
            inside = ((rows >= 2) & (rows < size - 2) & (cols >= 2) & (cols < size - 2)) if real_only \
                else torch.ones_like(windows, dtype=torch.bool)
            taps = int(inside.sum())  # weights of all units of one map, per input map read
            counts[layer] = sum(taps * m + windows.shape[0] for m in maps_read)
        counts["H3"] = 30 * (192 + 1)
        counts["output"] = 10 * (30 + 1)
        result[name] = counts
    return result


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """Which modern changes a network gets (all False: the 1989 recipe)."""
    cross_entropy: bool = False
    adamw: bool = False
    shifts: bool = False
    dropout: bool = False
    relu: bool = False

    def changes(self) -> list[str]:
        return [name for name in CHANGES if getattr(self, name)]

    def label(self) -> str:
        return "1989 recipe" if not self.changes() else " + ".join(self.changes())


def setting_key(setting: Setting) -> str:
    """A stable string key, e.g. ``"cross_entropy+shifts"`` (``"baseline"`` for no change)."""
    return "+".join(setting.changes()) or "baseline"


@dataclass
class History:
    """Learning curves of a trained bank; arrays have a leading dimension K (one row per copy).

    ``test_error[k, e]`` / ``train_error[k, e]``: error after pass ``e`` (pass 0 = before training);
    ``loss[k, j]``: training loss averaged over chunk ``j`` of ``record_every`` steps; ``grad_abs``
    likewise the mean sum of absolute gradient entries (if recorded).
    """
    test_error: np.ndarray
    train_error: np.ndarray
    loss: np.ndarray
    grad_abs: np.ndarray | None = None
    steps_per_chunk: int = 1
    extra: dict = field(default_factory=dict)


def _losses(out: torch.Tensor, y: torch.Tensor, ce: torch.Tensor, any_ce: bool, all_ce: bool) -> torch.Tensor:
    """Per-copy loss ``(K,)``: out ``(B, K, 10)``, y ``(B, K)``, ce ``(K,)`` bool (cross-entropy)."""
    b, k, c = out.shape
    if not all_ce:
        targets = F.one_hot(y, c).to(out.dtype) * 2 - 1
        mse = ((torch.tanh(out) - targets) ** 2).mean(dim=(0, 2))
        if not any_ce:
            return mse
    xent = F.cross_entropy(out.reshape(b * k, c), y.reshape(b * k), reduction="none").view(b, k).mean(0)
    return xent if all_ce else torch.where(ce, xent, mse)


@torch.no_grad()
def error_rate(net: Net1989, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Fraction of misclassified images per copy, ``(K,)``; the same images for every copy."""
    was = net.training
    net.eval()
    wrong = torch.zeros(net.n_models)
    for start in range(0, len(y), batch_size):
        out = net(x[start:start + batch_size])
        wrong += (out.argmax(-1) != y[start:start + batch_size, None]).sum(0).cpu()
    net.train(was)
    return (wrong / max(len(y), 1)).numpy()


def train_bank(net: Net1989, data: Data1989, *, passes: int = 23, cross_entropy=False, optimizer: str = "sgd",
               lr: float | None = None, schedule: bool | None = None, shift_fn: Callable | None = None,
               shifts=False, batch_size: int = 1, seeds: Sequence[int] | int = 0, record_every: int = 100,
               grad_abs: bool = False, eval_train: bool = False, progress: bool = True,
               max_steps: int | None = None) -> History:
    """Train every copy of ``net`` on ``data`` with its own data order; returns the learning curves.

    Args:
        net: a :class:`Net1989` with K copies (trained in place).
        data: training and test images.
        passes: passes through the training set (the paper: 23).
        cross_entropy: per copy (one or K bools): cross-entropy on the logits instead of the paper's
            MSE between tanh(output) and +-1 targets.
        optimizer: ``"sgd"`` (the paper's per-example gradient descent; default lr 0.03, constant) or
            ``"adamw"`` (default lr 3e-4, weight decay 1e-4, decayed linearly to 1/10). Shared by the bank.
        lr, schedule: override the learning rate (with SGD also one per copy) and whether it decays
            linearly to 1/10.
        shift_fn: ``shift_fn(x, shifts, fill)`` shifting images ``x (N, 1, 16, 16)`` by integer pixels
            ``shifts (N, 2)`` = (down, right), filling with ``fill``; needed when any copy has ``shifts``.
        shifts: per copy: shift each training image by a random (dy, dx) in {-1, 0, 1}^2 first.
        batch_size: examples per step (1 = the paper's per-example updates).
        seeds: one seed, or K seeds, for each copy's data order, shifts and dropout masks.
        record_every: steps per point of the loss curve.
        grad_abs: also record the sum of absolute gradient entries per copy.
        eval_train: also measure the training error after every pass (else only at the end).
        progress: show a tqdm progress bar.
        max_steps: stop after this many steps (for quick demos); passes are then partial.
    """
    k = net.n_models
    passes = _check_count("passes", passes, 1)
    batch_size = _check_count("batch_size", batch_size, 1)
    n = len(data.y_train)
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} is larger than the {n} training images")
    ce = torch.tensor(_per_model("cross_entropy", cross_entropy, k, bool))
    any_ce, all_ce = bool(ce.any()), bool(ce.all())
    shift_on = torch.tensor(_per_model("shifts", shifts, k, bool))
    any_shift = bool(shift_on.any())
    if any_shift and shift_fn is None:
        raise ValueError("shifts are on for some copies: pass shift_fn(x, shifts, fill)")
    seed_list = _per_model("seeds", seeds, k, int)
    if optimizer not in ("sgd", "adamw"):
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {optimizer!r}")
    adam = optimizer == "adamw"
    lr_scale = None
    if isinstance(lr, (list, tuple)):
        if adam:
            raise ValueError("one learning rate per copy works with optimizer='sgd' only")
        rates = _per_model("lr", lr, k, float)
        lr = max(rates)
        lr_scale = torch.tensor(rates) / lr
    lr = float(lr if lr is not None else (ADAMW_LR if adam else SGD_LR))
    schedule = adam if schedule is None else bool(schedule)
    params = list(net.parameters())
    if adam:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=ADAMW_WEIGHT_DECAY, foreach=True)
    else:
        opt = torch.optim.SGD(params, lr=lr, foreach=True)
    steps_per_pass = n // batch_size
    total = passes * steps_per_pass if max_steps is None else min(max_steps, passes * steps_per_pass)
    gens = [torch.Generator().manual_seed(s) for s in seed_list]
    drop_gen = torch.Generator().manual_seed(seed_list[0] * 7919 + k)
    shift_gen = torch.Generator().manual_seed(seed_list[0] * 104729 + k)
    x_train, y_train = data.x_train[:, 0], data.y_train

    test_err = [error_rate(net, data.x_test, data.y_test)]
    train_err = [error_rate(net, data.x_train, data.y_train)] if eval_train else []
    chunks, grad_chunks, loss_acc, grad_acc, in_chunk = [], [], torch.zeros(k), torch.zeros(k), 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"training {k} network{'s' if k > 1 else ''}", leave=False)
    net.train()
    step = 0
    for _ in range(passes):
        order = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (K, n)
        for j in range(steps_per_pass):
            if step >= total:
                break
            idx = order[:, j * batch_size:(j + 1) * batch_size]  # (K, B)
            x = x_train[idx]  # (K, B, 16, 16)
            if any_shift:
                d = torch.randint(-1, 2, (k, batch_size, 2), generator=shift_gen) * shift_on.view(k, 1, 1)
                x = shift_fn(x.reshape(k * batch_size, 1, 16, 16), d.reshape(k * batch_size, 2), -1.0)
                x = x.reshape(k, batch_size, 16, 16)
            out = net(x.transpose(0, 1), generator=drop_gen)
            losses = _losses(out, y_train[idx].t(), ce, any_ce, all_ce)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            if grad_abs:
                grad_acc += sum(p.grad.abs().reshape(k, -1).sum(1) for p in params)
            if lr_scale is not None:  # SGD with one learning rate per copy: scale each copy's gradient
                for p in params:
                    p.grad.mul_(lr_scale.view(k, *([1] * (p.ndim - 1))))
            if schedule:
                for group in opt.param_groups:
                    group["lr"] = lr * (1 - (1 - FINAL_LR_FRACTION) * step / max(total - 1, 1))
            opt.step()
            loss_acc += losses.detach()
            in_chunk += 1
            step += 1
            if in_chunk == record_every:
                chunks.append((loss_acc / in_chunk).numpy().copy())
                grad_chunks.append((grad_acc / in_chunk).numpy().copy())
                loss_acc.zero_(), grad_acc.zero_()
                in_chunk = 0
            if bar is not None and step % 200 == 0:
                bar.update(200)
        test_err.append(error_rate(net, data.x_test, data.y_test))
        if eval_train:
            train_err.append(error_rate(net, data.x_train, data.y_train))
        if step >= total:
            break
    if bar is not None:
        bar.close()
    if not eval_train:
        train_err = [error_rate(net, data.x_train, data.y_train)]
    net.eval()
    empty = np.zeros((k, 0), dtype=np.float32)
    return History(test_error=np.stack(test_err, 1), train_error=np.stack(train_err, 1),
                   loss=np.stack(chunks, 1) if chunks else empty,
                   grad_abs=(np.stack(grad_chunks, 1) if grad_chunks else empty) if grad_abs else None,
                   steps_per_chunk=record_every)


# --------------------------------------------------------------------------------------------
# The faithful run, lean: per-example SGD on one network in NumPy
# --------------------------------------------------------------------------------------------
def _scatter_matrix() -> np.ndarray:
    """``(64, 16 * 25)`` 0/1: which gathered H2 window entries are which interior H1 position."""
    interior = {(r + 2) * 12 + (c + 2): r * 8 + c for r in range(8) for c in range(8)}
    g = np.zeros((64, 16 * 25), dtype=np.float32)
    for j, flat in enumerate(_WINDOWS_H2.reshape(-1).tolist()):
        if flat in interior:
            g[interior[flat], j] = 1.0
    return g


class _Lean:
    """One 1989 network as NumPy arrays, trained example by example (tanh, MSE on +-1 targets, SGD).

    The same arithmetic as :class:`Net1989` with one copy, written out by hand: a per-example step in
    NumPy costs a fraction of what the same step costs through autograd, which matters for 30 000 steps.
    Layout: windows are ``(positions, 25)``, maps are columns.
    """

    def __init__(self, net: Net1989):
        p = {name: t.detach()[0].double().numpy() for name, t in net.named_parameters()}
        f32 = np.float32
        mask = net.mask.numpy().astype(f32)  # (out, in)
        self.m2 = np.repeat(mask.T[None], 25, axis=0).reshape(300, 12)  # rows: (position, input map)
        self.w1 = p["h1_w"].reshape(12, 25).T.astype(f32)  # (25, 12)
        self.b1 = p["h1_b"].reshape(12, 64).T.astype(f32)  # (64, 12)
        self.w2 = (p["h2_w"].reshape(12, 12, 25).transpose(2, 1, 0).reshape(300, 12)).astype(f32) * self.m2
        self.b2 = p["h2_b"].reshape(12, 16).T.astype(f32)
        self.w3, self.b3 = p["h3_w"].astype(f32), p["h3_b"].astype(f32)
        self.w4, self.b4 = p["out_w"].astype(f32), p["out_b"].astype(f32)
        self.idx2 = _WINDOWS_H2.numpy()
        self.inner = np.array([(r + 2) * 12 + (c + 2) for r in range(8) for c in range(8)])
        self.scatter = _scatter_matrix()

    @staticmethod
    def windows(x: torch.Tensor) -> np.ndarray:
        """Input windows ``(N, 64, 25)`` of images ``(N, 1, 16, 16)``."""
        padded = F.pad(x[:, 0], (2, 2, 2, 2), value=-1.0).reshape(len(x), 400)
        return padded[:, _WINDOWS_H1].numpy().astype(np.float32)

    def forward(self, p1: np.ndarray):
        """Batched forward of windows ``(N, 64, 25)``; returns every layer's activation."""
        n = len(p1)
        h1 = np.tanh(p1 @ self.w1 + self.b1)  # (N, 64, 12)
        padded = np.full((n, 144, 12), -1.0, dtype=np.float32)
        padded[:, self.inner] = h1
        p2 = padded[:, self.idx2].reshape(n, 16, 300)  # (N, 16, 25 positions x 12 maps)
        h2 = np.tanh(p2 @ self.w2 + self.b2)  # (N, 16, 12)
        flat = h2.transpose(0, 2, 1).reshape(n, 192)  # map-major, as Net1989 flattens
        h3 = np.tanh(flat @ self.w3 + self.b3)
        return p2, h1, h2, flat, h3, np.tanh(h3 @ self.w4 + self.b4)

    def step(self, p1: np.ndarray, target: np.ndarray, lr: float) -> float:
        """One SGD step on one example (windows ``(64, 25)``, target ``(10,)`` of +-1); returns its loss."""
        p2, h1, h2, flat, h3, out = (a[0] for a in self.forward(p1[None]))
        err = out - target
        d4 = (2.0 / 10.0) * err * (1 - out * out)
        d3 = (self.w4 @ d4) * (1 - h3 * h3)
        d2 = (self.w3 @ d3).reshape(12, 16).T * (1 - h2 * h2)  # (16, 12)
        dp2 = d2 @ self.w2.T  # (16, 300)
        d1 = (self.scatter @ dp2.reshape(16 * 25, 12)) * (1 - h1 * h1)  # (64, 12)
        self.w4 -= lr * np.outer(h3, d4)
        self.b4 -= lr * d4
        self.w3 -= lr * np.outer(flat, d3)
        self.b3 -= lr * d3
        self.w2 -= lr * ((p2.T @ d2) * self.m2)
        self.b2 -= lr * d2
        self.w1 -= lr * (p1.T @ d1)
        self.b1 -= lr * d1
        return float((err * err).mean())

    def errors(self, p1: np.ndarray, y: np.ndarray) -> float:
        return float((self.forward(p1)[-1].argmax(1) != y).mean())

    def store(self, net: Net1989) -> None:
        """Copy the weights back into ``net`` (one copy)."""
        with torch.no_grad():
            net.h1_w[0] = torch.from_numpy(self.w1.T.reshape(12, 1, 5, 5).copy())
            net.h1_b[0] = torch.from_numpy(self.b1.T.reshape(12, 8, 8).copy())
            w2 = self.w2.reshape(25, 12, 12).transpose(2, 1, 0).reshape(12, 12, 5, 5)
            net.h2_w[0] = torch.from_numpy(w2.copy())
            net.h2_b[0] = torch.from_numpy(self.b2.T.reshape(12, 4, 4).copy())
            for name in ("w3", "b3", "w4", "b4"):
                target = {"w3": net.h3_w, "b3": net.h3_b, "w4": net.out_w, "b4": net.out_b}[name]
                target[0] = torch.from_numpy(getattr(self, name).copy())


def train_1989(net: Net1989, data: Data1989, passes: int = 23, lr: float = SGD_LR, seed: int = 0,
               record_every: int = 100, progress: bool = True) -> History:
    """The paper's training, fast: per-example SGD on MSE with +-1 targets, tanh, one network.

    Trains the single copy of ``net`` (``n_models=1``, tanh, no dropout) in place, visiting the
    training images in a new random order each pass (seeded). Equivalent to :func:`train_bank`
    with its defaults, up to float rounding, but several times faster.

    Returns:
        :class:`History` with test and training error after each pass (pass 0 = before training) and the
        training loss averaged over every ``record_every`` examples.
    """
    if net.n_models != 1 or net.activations != ["tanh"] or net._any_dropout:
        raise ValueError("train_1989 trains one tanh network without dropout; use train_bank for the others")
    passes = _check_count("passes", passes, 1)
    lean = _Lean(net)
    p_train, p_test = lean.windows(data.x_train), lean.windows(data.x_test)
    targets = pm_one_targets(data.y_train).numpy()
    y_train, y_test = data.y_train.numpy(), data.y_test.numpy()
    rng = torch.Generator().manual_seed(_check_count("seed", seed, 0))
    test_err, train_err = [lean.errors(p_test, y_test)], [lean.errors(p_train, y_train)]
    losses, acc, count = [], 0.0, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=passes, desc="23 passes, one example at a time" if passes == 23 else "passes", leave=False)
    for _ in range(passes):
        for i in torch.randperm(len(y_train), generator=rng).tolist():
            acc += lean.step(p_train[i], targets[i], lr)
            count += 1
            if count == record_every:
                losses.append(acc / count)
                acc, count = 0.0, 0
        test_err.append(lean.errors(p_test, y_test))
        train_err.append(lean.errors(p_train, y_train))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    lean.store(net)
    net.eval()
    return History(test_error=np.array([test_err]), train_error=np.array([train_err]),
                   loss=np.array([losses], dtype=np.float32), steps_per_chunk=record_every)


# --------------------------------------------------------------------------------------------
# The shipped ablation
# --------------------------------------------------------------------------------------------
def all_settings() -> list[Setting]:
    """The 32 combinations of the five modern changes."""
    return [Setting(*flags) for flags in itertools.product((False, True), repeat=len(CHANGES))]


def load_ablation(path=RESULTS) -> dict:
    """The shipped ablation (``tools/lecun1989_ablation.py``).

    Returns:
        ``{"meta": {...}, "runs": {key: {"setting": Setting, "lr": the learning rate chosen on the
        validation split, "validation_error": {lr: error}, "test_error" and "train_error": (S,) arrays (at the
        end), "curves": (S, passes + 1)
        array of test error after each pass}}}`` with ``key`` from :func:`setting_key` and S seeds.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ablation results at {path}; run `python tools/lecun1989_ablation.py`")
    raw = json.loads(path.read_text())
    runs = {}
    for key, run in raw["runs"].items():
        flags = set() if key == "baseline" else set(key.split("+"))
        unknown = flags - set(CHANGES)
        if unknown:
            raise ValueError(f"{path}: unknown change(s) {sorted(unknown)} in run {key!r}")
        runs[key] = {"setting": Setting(**{name: name in flags for name in CHANGES}),
                     "lr": run.get("lr"), "validation_error": run.get("validation_error", {}),
                     "test_error": np.asarray(run["test_error"], dtype=float),
                     "train_error": np.asarray(run.get("train_error", []), dtype=float),
                     "curves": np.asarray(run["curves"], dtype=float)}
    return {"meta": raw["meta"], "runs": runs}


def plot_ablation(labels: Sequence[str], means, half_widths, ax=None, highlight: int | None = None,
                  reference: dict | None = None, title: str = "Test error, 95% interval over seeds"):
    """Horizontal bars of mean test error (in %) with error bars.

    Args:
        labels: one label per bar (top to bottom).
        means, half_widths: fractions (0.05 = 5 %); the error bar is ``mean +- half_width``.
        highlight: index of a bar to draw in a strong colour.
        reference: ``{name: error}`` drawn as dashed vertical lines (e.g. published figures).
    """
    import matplotlib.pyplot as plt

    means, half = np.asarray(means, float) * 100, np.asarray(half_widths, float) * 100
    if not len(labels) == len(means) == len(half):
        raise ValueError(f"labels, means and half_widths differ in length: {len(labels)}, {len(means)}, {len(half)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
    pos = np.arange(len(labels))[::-1]
    colors = ["C0" if highlight is None or i == highlight else "0.7" for i in range(len(labels))]
    ax.barh(pos, means, xerr=half, color=colors, capsize=3)
    ax.set_yticks(pos, labels)
    for name, value in (reference or {}).items():
        ax.axvline(value * 100, ls="--", lw=1, color="C3" if "paper" in name else "C2", label=name)
    if reference:
        ax.legend(loc="lower right", fontsize=8)
    ax.set(xlabel="test error (%)", title=title, xlim=(0, max(1.0, float(np.nanmax(means + half)) * 1.15)))
    return ax


def plot_ilsvrc(ax=None):
    """ILSVRC top-5 error of the winning entry by year, with the human estimate."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    years = [r[0] for r in ILSVRC_TOP5]
    errors = [100 * r[1] for r in ILSVRC_TOP5]
    ax.bar(years, errors, color=["C0" if y < 2012 else "C1" for y in years])
    for year, err, name in ILSVRC_TOP5:
        ax.text(year, 100 * err + 0.5, name, ha="center", va="bottom", fontsize=7, rotation=90)
    ax.axhline(100 * HUMAN_TOP5, ls="--", color="C3", label=f"human estimate ({100 * HUMAN_TOP5:.1f}%)")
    ax.set(xlabel="year", ylabel="top-5 error (%)", ylim=(0, 40), xticks=years,
           title="ImageNet (ILSVRC) classification: winning top-5 error (blue: before deep nets)")
    ax.legend(loc="upper right")
    return ax


def ablation_explorer(runs: dict, intervals: dict, live_curve=None, live_label: str = "this notebook's live run"):
    """An :class:`~course_utils.widgets.App`: tick modern changes on and off, see their shipped result.

    Args:
        runs: ``load_ablation()["runs"]``.
        intervals: ``{key: (mean, half_width)}`` of the test error per setting (fractions), e.g. a
            95 % confidence interval over the seeds; the bars show it.
        live_curve: optional test error after each pass (``(passes + 1,)``) of a run made in the
            notebook, drawn for comparison in grey.
    The left panel ranks every shipped setting (the chosen one outlined); the right panel shows the chosen
    setting's test error after each pass, one thin line per seed and their mean. A combination that
    the shipped grid does not hold says so. Updates redraw only what changed (tens of ms).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from course_utils.plots import FastRedraw
    from course_utils.widgets import App, toggle

    keys = [k for k in runs if k in intervals]
    if not keys:
        raise ValueError("intervals has no entry for any run")
    order = sorted(keys, key=lambda k: intervals[k][0], reverse=True)  # worst at the top
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    ax_bar, ax_curve = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    labels = [runs[k]["setting"].label().replace("cross_entropy", "CE") for k in order]
    means = [intervals[k][0] for k in order]
    halves = [intervals[k][1] for k in order]
    plot_ablation(labels, means, halves, ax=ax_bar, highlight=None, title="Shipped runs: test error, 95% interval")
    ax_bar.tick_params(axis="y", labelsize=7)
    positions = {k: len(order) - 1 - i for i, k in enumerate(order)}
    outline = ax_bar.add_patch(Rectangle((0, 0), 1, 0.8, fill=False, ec="C1", lw=2.5))
    n_seeds = max(len(runs[k]["curves"]) for k in keys)
    seed_lines = [ax_curve.plot([], [], color="C0", lw=0.8, alpha=0.5)[0] for _ in range(n_seeds)]
    mean_line, = ax_curve.plot([], [], color="C0", lw=2.5, label="chosen setting: mean over seeds")
    if live_curve is not None:
        live = np.asarray(live_curve, float) * 100
        ax_curve.plot(np.arange(len(live)), live, color="0.5", ls="--", lw=1.5, label=live_label)
    top = max(float(np.max(runs[k]["curves"][:, 1:])) for k in keys) * 100
    passes = max(runs[k]["curves"].shape[1] for k in keys) - 1
    ax_curve.set(xlabel="pass through the training set", ylabel="test error (%)", xlim=(0.5, passes + 0.5),
                 ylim=(0, min(100.0, top * 1.1)), title="Learning curve of the chosen setting")
    ax_curve.legend(handles=[mean_line] + ax_curve.lines[n_seeds + 1:], loc="upper right", fontsize=8)
    title = fig.suptitle(" ")
    redraw = FastRedraw(fig, moving=[outline, *seed_lines, mean_line, title])

    def compute(**ticked):
        key = setting_key(Setting(**ticked))
        return {"key": key, "run": runs.get(key)}

    def draw(data, values):
        run, key = data["run"], data["key"]
        shown = run is not None and key in intervals
        for line in [outline, *seed_lines, mean_line]:
            line.set_visible(shown)
        if shown:
            mean, half = intervals[key]
            outline.set_bounds(0, positions[key] - 0.4, (mean + half) * 100, 0.8)
            curves = run["curves"] * 100
            x = np.arange(curves.shape[1])
            for line, curve in zip(seed_lines, curves):
                line.set_data(x, curve)
            for line in seed_lines[len(curves):]:
                line.set_visible(False)
            mean_line.set_data(x, curves.mean(0))
            title.set_text(f"{run['setting'].label()}: test error {100 * mean:.2f}% "
                           f"± {100 * half:.2f} (95% interval over {len(curves)} seeds)")
        else:
            title.set_text("This combination is not in the shipped grid (it holds the 1989 recipe, each change "
                           "alone, and all five together)")
        return redraw.png()

    controls = {name: toggle(name.replace("_", " "), False, tooltip=CHANGES[name]) for name in CHANGES}
    return App(controls, compute, draw, title="1989 network, modern training: tick changes on and off",
               layout="horizontal", cache=True)
