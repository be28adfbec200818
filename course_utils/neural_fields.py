"""Neural fields: networks that take a pixel's coordinates and return its brightness.

A *neural field* (coordinate network) fits one signal -- here a small grey-scale photo -- as a
function ``(x1, x2) -> value``. It is the most visual way to see what a ReLU network finds easy
(smooth, low-frequency functions) and hard (edges and texture): the fit comes out blurry
("spectral bias"), unless the coordinates first go through **random Fourier features**
``gamma(x) = [cos(2 pi B x), sin(2 pi B x)]`` (Tancik et al., 2020)::

    from course_utils.neural_fields import load_field_image, pixel_coordinates, field_mlp, fit_full_batch
    image = load_field_image(64)                        # (64, 64) in [0, 1]
    coords = pixel_coordinates(64, 64)                  # (4096, 2) in [0, 1]^2
    net = field_mlp(encoding=RandomFourierFeatures(2, 128, scale=10.0, seed=0))
    history = fit_full_batch(net, coords, image.reshape(-1, 1), steps=400)

Everything is offline: the photo is the portrait that ships with matplotlib
(:func:`course_utils.data.load_sample_image`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from course_utils.data import load_sample_image

__all__ = [
    "load_field_image",
    "pixel_coordinates",
    "RandomFourierFeatures",
    "field_mlp",
    "FitResult",
    "fit_full_batch",
    "psnr",
]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def load_field_image(size: int = 64) -> torch.Tensor:
    """A small grey-scale photo to fit: the face of the Grace Hopper portrait (no download).

    Args:
        size: side length in pixels, >= 8.
    Returns:
        float32 tensor ``(size, size)`` with values in ``[0, 1]``, row 0 at the top of the photo.
    """
    size = _positive_int("size", size)
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    photo = load_sample_image("grace_hopper", gray=True)[0]  # (600, 512)
    face = photo[40:440, 56:456]                               # a square around the face
    small = torch.nn.functional.interpolate(face[None, None], size=(size, size), mode="bilinear",
                                            align_corners=False, antialias=True)[0, 0]
    return small.clamp(0.0, 1.0).contiguous()


def pixel_coordinates(height: int, width: int, dtype=torch.float32) -> torch.Tensor:
    """The coordinates of every pixel centre of a ``height x width`` image, scaled into ``[0, 1]``.

    Returns:
        tensor ``(height * width, 2)``; row ``r * width + c`` is ``(c / (width - 1), r / (height - 1))``
        (column first, like ``x1``), in the order of ``image.reshape(-1)``.
    Raises:
        ValueError: a side shorter than 2 pixels.
    """
    height, width = _positive_int("height", height), _positive_int("width", width)
    if min(height, width) < 2:
        raise ValueError(f"an image needs at least 2 pixels per side, got {height} x {width}")
    rows, cols = torch.meshgrid(torch.linspace(0, 1, height, dtype=dtype), torch.linspace(0, 1, width, dtype=dtype),
                                indexing="ij")
    return torch.stack([cols.reshape(-1), rows.reshape(-1)], dim=1)


class RandomFourierFeatures(nn.Module):
    """Fixed random Fourier features ``x -> [cos(2 pi x B^T), sin(2 pi x B^T)]``.

    Args:
        in_features: coordinate dimension (2 for images).
        n_frequencies: number of random frequencies m; the output has ``2 m`` features.
        scale: standard deviation sigma of the entries of ``B`` (frequencies in cycles per unit of
            the coordinates). Too small: still blurry; too large: noisy fits between pixels.
        seed: seed of a private generator for ``B``.
    Input ``(N, in_features)``, output ``(N, 2 m)``. ``B`` (shape ``(m, in_features)``) is a buffer,
    not a parameter: it is not trained.
    """

    def __init__(self, in_features: int = 2, n_frequencies: int = 128, scale: float = 10.0, seed: int = 0):
        super().__init__()
        in_features = _positive_int("in_features", in_features)
        n_frequencies = _positive_int("n_frequencies", n_frequencies)
        if not (isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        g = torch.Generator().manual_seed(int(seed))
        self.register_buffer("B", torch.randn(n_frequencies, in_features, generator=g) * float(scale))
        self.out_features = 2 * n_frequencies

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.B.shape[1]:
            raise ValueError(f"RandomFourierFeatures expects (N, {self.B.shape[1]}) coordinates, got {tuple(x.shape)}")
        angle = 2 * math.pi * x.to(self.B.dtype) @ self.B.T
        return torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)


def field_mlp(encoding: nn.Module | None = None, width: int = 64, depth: int = 3, activation: str = "relu",
              in_features: int = 2, seed: int = 0) -> nn.Sequential:
    """A coordinate network: optional encoding, ``depth`` hidden layers of ``width`` units, one output.

    Args:
        encoding: a module applied to the coordinates first (e.g. :class:`RandomFourierFeatures`),
            with an ``out_features`` attribute; ``None`` feeds the raw coordinates.
        activation: ``"relu"`` or ``"tanh"``.
        seed: seed for the weights (global random state untouched).
    Returns:
        ``nn.Sequential``: ``(N, in_features) -> (N, 1)``.
    """
    width, depth = _positive_int("width", width), _positive_int("depth", depth)
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    layers: list[nn.Module] = []
    n_in = in_features
    if encoding is not None:
        if not isinstance(encoding, nn.Module) or not hasattr(encoding, "out_features"):
            raise TypeError("encoding must be an nn.Module with an out_features attribute")
        layers.append(encoding)
        n_in = int(encoding.out_features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for _ in range(depth):
            layers += [nn.Linear(n_in, width), acts[activation]()]
            n_in = width
        layers.append(nn.Linear(n_in, 1))
    return nn.Sequential(*layers)


class FitResult(dict):
    """What :func:`fit_full_batch` returns: a dict with ``losses`` (list of floats, one per step),
    ``final_mse`` (float, on the training targets after the last step) and ``prediction`` (tensor
    like ``y``, on the CPU, detached)."""


def fit_full_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 300, lr: float = 1e-3,
                   desc: str = "fitting", progress: bool = True, device=None) -> FitResult:
    """Fit ``model(x) ~ y`` with Adam on the whole batch, minimising the mean squared error.

    Args:
        model: maps ``(N, in)`` to a tensor of ``y``'s shape; trained in place.
        x: inputs ``(N, in)``; y: targets ``(N, out)``, same N.
        steps: number of Adam steps, >= 1.
        lr: learning rate, > 0.
        desc: label of the progress bar (tqdm).
        device: where to train; default the model's device.
    Returns:
        :class:`FitResult`.
    """
    from tqdm.auto import tqdm

    steps = _positive_int("steps", steps)
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)) or len(x) != len(y) or x.dim() != 2:
        raise ValueError("x must be a tensor (N, in) and y a tensor with the same first dimension N")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    device = params[0].device if device is None else torch.device(device)
    model.to(device)
    dtype = params[0].dtype
    x, y = x.to(device, dtype), y.to(device, dtype)
    from course_utils import regions

    ours = regions._intact(model)  # a network course_utils.regions built and nobody changed by hand
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in tqdm(range(steps), desc=desc, disable=not progress, leave=False):
        loss = torch.mean((model(x) - y) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        prediction = model(x)
    if ours:  # trained here, not set by hand: course_utils.regions.region_map may still analyse it
        regions._register(model)
    return FitResult(losses=losses, final_mse=float(torch.mean((prediction - y) ** 2)),
                     prediction=prediction.detach().cpu())


def psnr(mse: float, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(peak^2 / mse)``, for images in ``[0, peak]``."""
    if not (isinstance(mse, (int, float)) and mse >= 0):
        raise ValueError(f"mse must be a non-negative number, got {mse!r}")
    return float("inf") if mse == 0 else 10 * math.log10(peak ** 2 / mse)
