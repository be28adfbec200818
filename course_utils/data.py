"""Offline data sets as torch tensors, seeded splits and data loaders.

Everything here works without a network connection: the digits ship with scikit-learn, the
photo ships with matplotlib, MNIST-1D is *generated* locally, and the toy sets are sampled
from a seeded NumPy generator. Every function takes a ``seed`` and returns the same tensors for
the same seed, without touching the global random state that ``seed_everything`` set.

Conventions:

- features are ``float32``, class labels are ``int64`` (what ``nn.CrossEntropyLoss`` expects);
- images are channels-first, ``(N, C, H, W)``, with values in ``[0, 1]``;
- every call returns *fresh* tensors, so changing them in place never affects a later call.

Example::

    from course_utils.data import load_digits, train_val_test_split, make_loader
    X, y = load_digits(size=16)                 # (1797, 1, 16, 16) float32, (1797,) int64
    split = train_val_test_split(X, y, seed=0)  # stratified 70 / 15 / 15 split
    train_loader = make_loader(split.x_train, split.y_train, batch_size=64)
"""
from __future__ import annotations

import functools
import importlib.util
import math
import random
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "load_digits",
    "make_mnist1d",
    "add_label_noise",
    "REGRESSION_FUNCTIONS",
    "regression_truth",
    "make_regression_1d",
    "make_classification_2d",
    "Split",
    "train_val_test_split",
    "SAMPLE_IMAGES",
    "load_sample_image",
    "make_loader",
]


# --------------------------------------------------------------------------------------------
# Small input checks shared by the functions below. Each raises an error that says what was
# expected and what was passed.
# --------------------------------------------------------------------------------------------
def _check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def _check_float(name: str, value, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def _check_seed(seed) -> int:
    return _check_int("seed", seed, 0, 2**32 - 1)


def _as_tensor(name: str, value) -> torch.Tensor:
    """Turn a tensor, NumPy array or nested list into a tensor (tensors are returned as they are)."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a tensor or array-like, got {type(value).__name__}") from err


def _is_integer_tensor(t: torch.Tensor) -> bool:
    return not (t.is_floating_point() or t.is_complex())


# --------------------------------------------------------------------------------------------
# Handwritten digits (scikit-learn's bundled 8x8 copy of the UCI digits)
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 digits as read-only arrays: images (N, 8, 8) float32 in 0..16, labels (N,) int64."""
    # The digits ship inside scikit-learn as one CSV (64 pixels then the label per row). Reading
    # that file directly skips importing sklearn.datasets (about 1 s, paid by every notebook).
    spec = importlib.util.find_spec("sklearn")
    csv = None
    if spec is not None and spec.submodule_search_locations:
        csv = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    if csv is not None and csv.is_file():
        table = np.loadtxt(csv, delimiter=",", dtype=np.float32)
        images = np.ascontiguousarray(table[:, :64].reshape(-1, 8, 8))
        labels = table[:, 64].astype(np.int64)
    else:  # a layout we do not know: let scikit-learn read it
        from sklearn.datasets import load_digits as sklearn_load_digits

        bunch = sklearn_load_digits()
        images = bunch.images.astype(np.float32)
        labels = bunch.target.astype(np.int64)
    images.setflags(write=False)  # the cache is shared: nobody may change it
    labels.setflags(write=False)
    return images, labels


def load_digits(size: int = 8, flatten: bool = False, normalize: bool = True):
    """Load scikit-learn's 1797 handwritten digits (8x8 pixels, 10 classes), optionally enlarged.

    Args:
        size: side length in pixels of the returned images, an integer >= 8. Sizes above 8
            (e.g. 16 or 28, the size of MNIST) are made by bilinear interpolation.
        flatten: return each image as a vector of ``size * size`` pixels instead of an image.
        normalize: scale pixel values from the original 0..16 to ``[0, 1]``.
    Returns:
        ``(X, y)``: ``X`` float32 of shape ``(1797, 1, size, size)`` -- or ``(1797, size * size)``
        if ``flatten`` -- with values in ``[0, 1]`` (``[0, 16]`` if not ``normalize``);
        ``y`` int64 of shape ``(1797,)`` with the digit 0..9 of each image.
    """
    size = _check_int("size", size, minimum=8)
    images, labels = _raw_digits()
    X = torch.tensor(images).unsqueeze(1)  # torch.tensor copies: (N, 1, 8, 8)
    top = 16.0
    if normalize:
        X = X / 16.0
        top = 1.0
    if size != 8:
        X = F.interpolate(X, size=(size, size), mode="bilinear", align_corners=False)
        X = X.clamp(0.0, top)
    if flatten:
        X = X.reshape(len(X), size * size)
    return X.contiguous(), torch.tensor(labels)


# --------------------------------------------------------------------------------------------
# MNIST-1D (Greydanus, 2020): 1-D signals of length 40, 10 classes, generated locally
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _mnist1d_arrays(num_samples, train_split, seed, corr_noise_scale, iid_noise_scale):
    """Generate MNIST-1D with the ``mnist1d`` package; read-only arrays, cached by arguments."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    args.train_split = train_split
    args.seed = seed
    if corr_noise_scale is not None:
        args.corr_noise_scale = corr_noise_scale
    if iid_noise_scale is not None:
        args.iid_noise_scale = iid_noise_scale

    # make_dataset re-seeds Python's and NumPy's *global* generators. Put them back afterwards
    # so that the notebook's own seed_everything(...) keeps working as the student expects.
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    try:
        dataset = make_dataset(args)  # never get_dataset(): that one downloads and writes files
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)

    arrays = {
        "x_train": np.asarray(dataset["x"], dtype=np.float32),
        "y_train": np.asarray(dataset["y"], dtype=np.int64),
        "x_test": np.asarray(dataset["x_test"], dtype=np.float32),
        "y_test": np.asarray(dataset["y_test"], dtype=np.int64),
        "t": np.asarray(dataset["t"], dtype=np.float32),
    }
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def make_mnist1d(
    num_samples: int = 5000,
    train_split: float = 0.8,
    seed: int = 42,
    corr_noise_scale: float | None = None,
    iid_noise_scale: float | None = None,
) -> dict[str, torch.Tensor]:
    """Generate the MNIST-1D data set locally (no download): 10 classes of 1-D signals.

    Each example is one of ten hand-made 1-D "digit" templates, randomly padded, stretched,
    shifted, sheared and made noisy, then resampled to 40 points. The whole set is
    standardised (mean 0, standard deviation 1). The default arguments reproduce the data set
    of the MNIST-1D paper (4000 training and 1000 test examples).

    Args:
        num_samples: total number of examples, an integer >= 10; it is rounded down to a
            multiple of 10 so every class has the same number of examples.
        train_split: fraction of the examples that go to the training set, in ``(0, 1)``.
        seed: generation seed, an integer in ``[0, 2**32)``.
        corr_noise_scale: strength of the smooth (correlated) background noise;
            ``None`` keeps the package default (0.25).
        iid_noise_scale: standard deviation of the independent per-point noise;
            ``None`` keeps the package default (0.02).
    Returns:
        A dict of fresh tensors: ``x_train`` float32 ``(N_train, 40)``, ``y_train`` int64
        ``(N_train,)`` with classes 0..9, ``x_test`` float32 ``(N_test, 40)``, ``y_test`` int64
        ``(N_test,)`` and ``t`` float32 ``(40,)``, the horizontal coordinate of the 40 points
        (use it to plot a signal: ``plt.plot(t, x_train[0])``).
    The global ``random`` and NumPy generators are left exactly as they were. Results are
    cached by arguments, so asking again for the same data set is instant.
    """
    num_samples = _check_int("num_samples", num_samples, minimum=10)
    train_split = _check_float("train_split", train_split)
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train_split must be strictly between 0 and 1, got {train_split}")
    seed = _check_seed(seed)
    if corr_noise_scale is not None:
        corr_noise_scale = _check_float("corr_noise_scale", corr_noise_scale, low=0.0)
    if iid_noise_scale is not None:
        iid_noise_scale = _check_float("iid_noise_scale", iid_noise_scale, low=0.0)
    total = 10 * (num_samples // 10)
    num_train = int(total * train_split)
    if num_train == 0 or num_train == total:
        raise ValueError(
            f"train_split={train_split} with num_samples={num_samples} leaves the training or the "
            f"test set empty; use more samples or a split closer to 0.5"
        )
    arrays = _mnist1d_arrays(num_samples, train_split, seed, corr_noise_scale, iid_noise_scale)
    return {key: torch.tensor(value) for key, value in arrays.items()}  # torch.tensor copies


# --------------------------------------------------------------------------------------------
# Label noise
# --------------------------------------------------------------------------------------------
def add_label_noise(y, fraction: float, num_classes: int, seed: int = 0):
    """Corrupt a chosen fraction of class labels, each to a *different*, uniformly random class.

    Args:
        y: integer class labels of shape ``(N,)`` with values in ``0..num_classes-1``
            (tensor, array or list). It is not modified.
        fraction: share of labels to corrupt, in ``[0, 1]``. Exactly ``round(fraction * N)``
            labels change (Python's ``round``).
        num_classes: number of classes, an integer >= 2.
        seed: seed for choosing which labels change and to what, an integer in ``[0, 2**32)``.
    Returns:
        ``(y_noisy, flipped)``: ``y_noisy`` a new int64 tensor of shape ``(N,)``; ``flipped`` a
        bool tensor of shape ``(N,)`` that is True exactly where ``y_noisy != y``. Both are on
        the device of ``y``.
    """
    y = _as_tensor("y", y)
    if y.ndim != 1 or not _is_integer_tensor(y) or y.dtype == torch.bool:
        raise ValueError(
            f"y must be a 1-D tensor of integer class labels, got dtype {y.dtype} and shape {tuple(y.shape)}"
        )
    fraction = _check_float("fraction", fraction, low=0.0, high=1.0)
    num_classes = _check_int("num_classes", num_classes, minimum=2)
    seed = _check_seed(seed)
    labels = y.detach().cpu().to(torch.int64).numpy()
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1} for num_classes={num_classes}, "
            f"got values from {labels.min()} to {labels.max()}"
        )

    rng = np.random.default_rng(seed)
    n = len(labels)
    num_flips = int(round(fraction * n))
    chosen = rng.choice(n, size=num_flips, replace=False)
    # Adding a random offset of 1..num_classes-1 (modulo num_classes) always gives another
    # class, and every other class is equally likely.
    offsets = rng.integers(1, num_classes, size=num_flips)
    noisy = labels.copy()
    noisy[chosen] = (labels[chosen] + offsets) % num_classes
    flipped = np.zeros(n, dtype=bool)
    flipped[chosen] = True
    return torch.from_numpy(noisy).to(y.device), torch.from_numpy(flipped).to(y.device)


# --------------------------------------------------------------------------------------------
# 1-D regression
# --------------------------------------------------------------------------------------------
#: The named true functions of :func:`make_regression_1d`. Each maps a float tensor to a
#: tensor of the same shape.
REGRESSION_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda x: 0.5 * x + 0.2,
    "quadratic": lambda x: x**2 - 0.5,
    "cubic": lambda x: 2 * x**3 - x,
    "sine": lambda x: torch.sin(math.pi * x),
    "fast_sine": lambda x: torch.sin(3 * math.pi * x),
}


def _resolve_function(fn) -> Callable[[torch.Tensor], torch.Tensor]:
    if callable(fn):
        return fn
    if isinstance(fn, str) and fn in REGRESSION_FUNCTIONS:
        return REGRESSION_FUNCTIONS[fn]
    raise ValueError(f"fn must be a callable or one of {sorted(REGRESSION_FUNCTIONS)}, got {fn!r}")


def regression_truth(fn, x) -> torch.Tensor:
    """The noiseless values ``f(x)`` of a true function of :func:`make_regression_1d`.

    Args:
        fn: a name from ``REGRESSION_FUNCTIONS`` (e.g. ``"sine"``) or a callable that maps a
            float32 tensor to a tensor of the same shape.
        x: input positions of any shape (tensor, array or list).
    Returns:
        A float32 tensor with the shape of ``x``. To draw the true curve:
        ``xs = torch.linspace(-1, 1, 200); plt.plot(xs, regression_truth("sine", xs))``.
    """
    f = _resolve_function(fn)
    x = _as_tensor("x", x).detach().to(torch.float32)
    values = _as_tensor("fn(x)", f(x)).to(torch.float32)
    if values.shape != x.shape:
        raise ValueError(
            f"fn must return one value per input: x has shape {tuple(x.shape)} "
            f"but fn(x) has shape {tuple(values.shape)}"
        )
    return values


def make_regression_1d(n: int = 20, noise: float = 0.1, seed: int = 0, fn="sine", x_range=(-1.0, 1.0)):
    """Sample a small 1-D regression data set ``y = f(x) + noise``.

    Args:
        n: number of points, an integer >= 1.
        noise: standard deviation of the Gaussian noise added to ``f(x)`` (same units as y), >= 0.
        seed: seed of the NumPy generator, an integer in ``[0, 2**32)``.
        fn: the true function: one of ``"linear"`` (0.5x + 0.2), ``"quadratic"`` (x^2 - 0.5),
            ``"cubic"`` (2x^3 - x), ``"sine"`` (sin(pi x)), ``"fast_sine"`` (sin(3 pi x)), or a
            callable mapping a float32 tensor to a tensor of the same shape.
        x_range: ``(low, high)``; x is drawn uniformly from this interval.
    Returns:
        ``(x, y)``, float32 tensors of shape ``(n, 1)``, ready for an ``nn.Linear(1, ...)``.
        The points are in random order (not sorted). Use :func:`regression_truth` to draw the
        noiseless curve.
    """
    n = _check_int("n", n, minimum=1)
    noise = _check_float("noise", noise, low=0.0)
    seed = _check_seed(seed)
    f = _resolve_function(fn)
    try:
        low, high = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise ValueError(f"x_range must be a pair of numbers (low, high), got {x_range!r}") from None
    if not low < high:
        raise ValueError(f"x_range must satisfy low < high, got {x_range!r}")

    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.uniform(low, high, size=(n, 1)).astype(np.float32))
    noise_values = torch.from_numpy(rng.normal(0.0, noise, size=(n, 1)).astype(np.float32))
    y = regression_truth(f, x) + noise_values
    return x, y


# --------------------------------------------------------------------------------------------
# 2-D classification toys
# --------------------------------------------------------------------------------------------
_KINDS_2D = ("moons", "circles", "spirals", "blobs")


def make_classification_2d(n: int = 200, kind: str = "moons", noise: float = 0.1, seed: int = 0, num_classes: int = 2):
    """Sample a 2-D toy classification data set with balanced classes.

    Args:
        n: number of points, an integer >= num_classes. Classes get ``n // num_classes``
            points each; the first ``n % num_classes`` classes get one more.
        kind: the shape of the classes:

            - ``"moons"``: two interleaving half circles (needs ``num_classes=2``);
            - ``"circles"``: concentric rings, class k at radius (k + 1) / num_classes;
            - ``"spirals"``: ``num_classes`` spiral arms winding 1.5 turns out from the centre
              to radius 2;
            - ``"blobs"``: Gaussian clusters whose centres sit on a circle of radius 2.
        noise: standard deviation of the Gaussian noise added to each coordinate (for
            ``"blobs"`` it is the spread of each cluster; try 0.5 to 1 for overlap), >= 0.
        seed: seed of the NumPy generator, an integer in ``[0, 2**32)``.
        num_classes: number of classes, an integer >= 2.
    Returns:
        ``(X, y)``: ``X`` float32 of shape ``(n, 2)``, ``y`` int64 of shape ``(n,)`` with values
        ``0..num_classes-1``; the points are shuffled so the classes are mixed.
    """
    if kind not in _KINDS_2D:
        raise ValueError(f"kind must be one of {list(_KINDS_2D)}, got {kind!r}")
    num_classes = _check_int("num_classes", num_classes, minimum=2)
    n = _check_int("n", n, minimum=num_classes)
    noise = _check_float("noise", noise, low=0.0)
    seed = _check_seed(seed)
    if kind == "moons" and num_classes != 2:
        raise ValueError(f"kind='moons' has exactly 2 classes, got num_classes={num_classes}")

    rng = np.random.default_rng(seed)
    points, labels = [], []
    for k in range(num_classes):
        m = n // num_classes + (1 if k < n % num_classes else 0)
        if kind == "moons":
            angle = rng.uniform(0.0, np.pi, size=m)
            if k == 0:  # upper half circle centred at (0, 0)
                xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
            else:  # lower half circle centred at (1, 0.5)
                xy = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
        elif kind == "circles":
            angle = rng.uniform(0.0, 2 * np.pi, size=m)
            radius = (k + 1) / num_classes
            xy = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        elif kind == "spirals":
            t = rng.uniform(0.05, 1.0, size=m)  # 0 = centre, 1 = outer end of the arm
            angle = 2 * np.pi * k / num_classes + 3 * np.pi * t  # 1.5 turns
            xy = 2 * t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        else:  # blobs
            centre_angle = 2 * np.pi * k / num_classes
            xy = np.tile([2 * np.cos(centre_angle), 2 * np.sin(centre_angle)], (m, 1))
        points.append(xy + rng.normal(0.0, noise, size=xy.shape))
        labels.append(np.full(m, k, dtype=np.int64))

    order = rng.permutation(n)
    X = np.concatenate(points)[order].astype(np.float32)
    y = np.concatenate(labels)[order]
    return torch.from_numpy(X), torch.from_numpy(y)


# --------------------------------------------------------------------------------------------
# Train / validation / test split
# --------------------------------------------------------------------------------------------
class Split(NamedTuple):
    """The three parts of a data set made by :func:`train_val_test_split`."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _split_sizes(n: int, fractions: tuple[float, float, float]) -> np.ndarray:
    """Whole-number sizes that add up to n and are as close as possible to fractions * n."""
    exact = np.asarray(fractions) * n
    sizes = np.floor(exact).astype(np.int64)
    # Hand the few left-over examples to the parts that lost the most by rounding down.
    leftover = n - sizes.sum()
    sizes[np.argsort(-(exact - sizes), kind="stable")[:leftover]] += 1
    return sizes


def train_val_test_split(X, y, fractions=(0.7, 0.15, 0.15), seed: int = 0, stratify: bool = True) -> Split:
    """Split a data set at random into training, validation and test parts.

    Args:
        X: inputs, a tensor (or array) of shape ``(N, ...)``.
        y: targets, a tensor (or array) of shape ``(N, ...)``.
        fractions: ``(train, val, test)`` shares of the N examples: non-negative, train > 0,
            summing to 1. A share of 0 gives an empty part whose shape is ``(0, ...)``.
        seed: seed of the shuffle, an integer in ``[0, 2**32)``; the same seed gives the same split.
        stratify: when ``y`` holds integer class labels, give every part (almost exactly) the
            same class proportions as the whole data set. Ignored for float targets.
    Returns:
        A :class:`Split` with fields ``x_train, y_train, x_val, y_val, x_test, y_test``: tensors
        holding the rows of ``X`` and ``y``, each example in exactly one part, in random order.
        The part sizes add up to N and are each within 1 of ``fraction * N``.
    """
    X = _as_tensor("X", X)
    y = _as_tensor("y", y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y need a first (example) dimension, got shapes {tuple(X.shape)} and {tuple(y.shape)}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} and {len(y)}")
    try:
        fractions = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise TypeError(f"fractions must be a sequence of 3 numbers (train, val, test), got {fractions!r}") from None
    if len(fractions) != 3:
        raise ValueError(f"fractions must have 3 entries (train, val, test), got {len(fractions)}: {fractions}")
    if any(not math.isfinite(f) or f < 0 for f in fractions) or fractions[0] <= 0:
        raise ValueError(f"fractions must be non-negative with a positive train share, got {fractions}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {sum(fractions):.6g})")
    seed = _check_seed(seed)

    n = len(X)
    sizes = _split_sizes(n, fractions)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    if stratify and _is_integer_tensor(y) and y.ndim == 1:
        # Group the shuffled examples by class (a stable sort keeps the random order inside
        # each class) ...
        labels = y.detach().cpu().numpy()
        order = order[np.argsort(labels[order], kind="stable")]
    # ... then deal them out to the three parts like cards, in a fixed pattern that spreads
    # each part's share evenly along the sequence. Every class then lands in each part in
    # (almost exactly) the right proportion. Part p owns the slots (k + 0.5) / size_p.
    slots = np.concatenate([(np.arange(size) + 0.5) / size for size in sizes])
    owners = np.repeat(np.arange(3), sizes)
    schedule = owners[np.argsort(slots, kind="stable")]

    parts = []
    for p in range(3):
        index = torch.from_numpy(rng.permutation(order[schedule == p]))
        parts += [X[index], y[index]]
    return Split(*parts)


# --------------------------------------------------------------------------------------------
# A real photograph (ships with matplotlib)
# --------------------------------------------------------------------------------------------
#: Names accepted by :func:`load_sample_image` and the matplotlib sample file behind each.
SAMPLE_IMAGES = {"grace_hopper": "grace_hopper.jpg"}


@functools.lru_cache(maxsize=4)
def _raw_sample_image(filename: str) -> np.ndarray:
    """The picture as a read-only float32 array (H, W, 3) in [0, 1]."""
    import matplotlib.image as mpimg
    from matplotlib import cbook

    pixels = mpimg.imread(cbook.get_sample_data(filename, asfileobj=False))
    if pixels.dtype == np.uint8:
        pixels = pixels.astype(np.float32) / 255.0
    pixels = np.ascontiguousarray(pixels[..., :3], dtype=np.float32)  # drop alpha if present
    pixels.setflags(write=False)
    return pixels


def load_sample_image(name: str = "grace_hopper", size=None, gray: bool = False) -> torch.Tensor:
    """Load a real photograph that ships with matplotlib (no download).

    Args:
        name: a key of ``SAMPLE_IMAGES``; ``"grace_hopper"`` is a 600x512 colour portrait of
            the computer scientist Grace Hopper.
        size: ``None`` keeps the original size; an integer ``s`` resizes to ``s x s``; a pair
            ``(h, w)`` resizes to ``h x w``. Resizing is bilinear and anti-aliased.
        gray: convert to one luminance channel (0.299 R + 0.587 G + 0.114 B).
    Returns:
        A fresh float32 tensor of shape ``(C, H, W)`` with values in ``[0, 1]``, where ``C`` is
        3 (RGB) or 1 (``gray``).
    """
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"name must be one of {sorted(SAMPLE_IMAGES)}, got {name!r}")
    image = torch.tensor(_raw_sample_image(SAMPLE_IMAGES[name])).permute(2, 0, 1)  # (3, H, W)
    if gray:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        image = (image * weights).sum(dim=0, keepdim=True)
    if size is not None:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            size = (size, size)
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ValueError(f"size must be None, an integer or a pair (height, width), got {size!r}")
        height = _check_int("size[0] (height)", size[0], minimum=1)
        width = _check_int("size[1] (width)", size[1], minimum=1)
        image = F.interpolate(image.unsqueeze(0), size=(height, width), mode="bilinear",
                              align_corners=False, antialias=True).squeeze(0)
    return image.clamp(0.0, 1.0).contiguous()


# --------------------------------------------------------------------------------------------
# Data loaders
# --------------------------------------------------------------------------------------------
def make_loader(X, y=None, batch_size: int = 64, shuffle: bool = True, seed: int = 0, drop_last: bool = False):
    """Wrap tensors in a ``DataLoader`` whose shuffling is seeded.

    Args:
        X: inputs, a tensor of shape ``(N, ...)``.
        y: targets of shape ``(N, ...)``, or ``None`` for inputs only (batches are then
            1-tuples ``(x_batch,)``).
        batch_size: examples per batch, an integer >= 1; the last batch may be smaller
            unless ``drop_last``.
        shuffle: visit the examples in a new random order every epoch.
        seed: seed of the loader's own ``torch.Generator``, an integer in ``[0, 2**32)``: two
            loaders made with the same seed yield the same batches in the same order, whatever
            else the notebook does with torch's global generator.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
    Returns:
        A ``torch.utils.data.DataLoader`` yielding ``(x_batch, y_batch)`` pairs.
    """
    from torch.utils.data import DataLoader, TensorDataset

    X = _as_tensor("X", X)
    tensors = [X]
    if y is not None:
        y = _as_tensor("y", y)
        if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
            raise ValueError(
                f"X and y must have the same number of examples, got shapes {tuple(X.shape)} and {tuple(y.shape)}"
            )
        tensors.append(y)
    elif X.ndim == 0:
        raise ValueError(f"X needs a first (example) dimension, got shape {tuple(X.shape)}")
    batch_size = _check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(_check_seed(seed))
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle,
                      generator=generator, drop_last=drop_last)
