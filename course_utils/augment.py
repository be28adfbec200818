"""Data augmentation with torch only: random affine warps, crops, brightness/contrast, noise.

Every function takes a batch of images ``(N, C, H, W)`` (a single image ``(C, H, W)`` works too
and comes back in the same shape), returns a **new** tensor of the same shape, dtype and device,
and draws its randomness from an optional ``torch.Generator`` so that a seeded call is exactly
repeatable. Nothing here flips images: for digits and letters a mirror image is a different
(or no) symbol, so a flip is not label-preserving. Compose them with :func:`augment`.

Example::

    from course_utils.augment import augment
    g = torch.Generator().manual_seed(0)
    x_aug = augment(x, degrees=12, translate=0.1, scale=(0.9, 1.1), noise=0.05, generator=g)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "affine_matrices",
    "random_affine",
    "random_crop",
    "brightness_contrast",
    "add_noise",
    "augment",
]


def _batched(x: torch.Tensor, name: str = "x") -> tuple[torch.Tensor, bool]:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of images, got {type(x).__name__}")
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    return x, False


def _uniform(n: int, low: float, high: float, generator, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator).to(device)


def _pair(value, name: str, centre: float) -> tuple[float, float]:
    """A range given as a number ``r`` (meaning ``centre - r .. centre + r``) or a pair (low, high)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError(f"{name} must be a number or a pair (low, high) with low <= high, got {value!r}")
        return float(value[0]), float(value[1])
    value = float(value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return centre - value, centre + value


def affine_matrices(n: int, degrees=0.0, translate=0.0, scale=1.0, shear=0.0, generator=None,
                    device="cpu") -> torch.Tensor:
    """Random 2x3 affine matrices in ``affine_grid``'s convention (output -> input coordinates).

    Args:
        n: number of matrices.
        degrees: rotation range, ``r`` for uniform in ``[-r, r]`` degrees, or a pair.
        translate: shift range as a fraction of the image size (``0.1`` = up to 10 %), or a pair.
        scale: zoom factor: a number ``s`` for exactly ``s``, or a pair ``(low, high)``;
            ``> 1`` makes the content larger.
        shear: horizontal shear range (``x += shear * y``), a number or a pair.
        generator: optional ``torch.Generator`` for repeatable draws.
    Returns:
        Float32 tensor of shape ``(n, 2, 3)``.
    """
    lo, hi = _pair(degrees, "degrees", 0.0)
    angle = _uniform(n, lo, hi, generator, "cpu") * math.pi / 180
    lo, hi = _pair(translate, "translate", 0.0)
    tx, ty = _uniform(n, lo, hi, generator, "cpu") * 2, _uniform(n, lo, hi, generator, "cpu") * 2
    lo, hi = (float(scale), float(scale)) if not isinstance(scale, (tuple, list)) else _pair(scale, "scale", 1.0)
    if lo <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    zoom = _uniform(n, lo, hi, generator, "cpu")
    lo, hi = _pair(shear, "shear", 0.0)
    sh = _uniform(n, lo, hi, generator, "cpu")
    cos, sin = torch.cos(angle), torch.sin(angle)
    # forward map A = R @ S (shear) scaled by zoom; affine_grid wants the inverse (output -> input)
    forward = torch.zeros(n, 2, 2)
    forward[:, 0, 0], forward[:, 0, 1] = cos, cos * sh - sin
    forward[:, 1, 0], forward[:, 1, 1] = sin, sin * sh + cos
    forward = forward * zoom.view(n, 1, 1)
    inverse = torch.linalg.inv(forward)
    shift = torch.stack([tx, ty], dim=1).unsqueeze(2)
    theta = torch.cat([inverse, -inverse @ shift], dim=2)
    return theta.to(device)


def random_affine(x: torch.Tensor, degrees=10.0, translate=0.1, scale=(0.9, 1.1), shear=0.0,
                  generator=None, fill: float = 0.0) -> torch.Tensor:
    """Rotate, shift, zoom and shear each image by its own random amount (bilinear resampling).

    Uses ``F.affine_grid`` + ``F.grid_sample``; pixels that come from outside the image get
    ``fill``. See :func:`affine_matrices` for the ranges. Returns a new tensor, same shape.
    """
    xb, single = _batched(x)
    theta = affine_matrices(len(xb), degrees, translate, scale, shear, generator, xb.device).to(xb.dtype)
    grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
    out = F.grid_sample(xb - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill
    return out.squeeze(0) if single else out


def random_crop(x: torch.Tensor, size, generator=None, resize: bool = True) -> torch.Tensor:
    """Cut a random ``size`` window out of each image (and by default resize it back).

    Args:
        x: images ``(N, C, H, W)`` or one image ``(C, H, W)``.
        size: crop side ``s`` or ``(h, w)``, at most the image size.
        resize: resize each crop back to ``(H, W)`` (bilinear) so the shape is unchanged;
            if False the result has spatial size ``size``.
    """
    xb, single = _batched(x)
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    height, width = xb.shape[-2:]
    if not (0 < h <= height and 0 < w <= width):
        raise ValueError(f"crop size {(h, w)} must be positive and at most the image size {(height, width)}")
    tops = torch.randint(0, height - h + 1, (len(xb),), generator=generator).tolist()
    lefts = torch.randint(0, width - w + 1, (len(xb),), generator=generator).tolist()
    crops = torch.stack([xb[i, :, t:t + h, l:l + w] for i, (t, l) in enumerate(zip(tops, lefts))])
    if resize:
        crops = F.interpolate(crops, size=(height, width), mode="bilinear", align_corners=False)
    return crops.squeeze(0) if single else crops


def brightness_contrast(x: torch.Tensor, brightness=0.2, contrast=0.2, generator=None,
                        clamp: bool = True) -> torch.Tensor:
    """Random brightness shift and contrast factor per image: ``(x - mean) * c + mean + b``.

    ``brightness`` ``r`` draws ``b`` in ``[-r, r]``; ``contrast`` ``r`` draws ``c`` in
    ``[1 - r, 1 + r]`` (or pass pairs). The mean is each image's own mean over all pixels, so
    contrast changes keep the average brightness. Values are clamped to ``[0, 1]`` by default.
    """
    xb, single = _batched(x)
    n = len(xb)
    b = _uniform(n, *_pair(brightness, "brightness", 0.0), generator, xb.device).view(n, 1, 1, 1)
    c = _uniform(n, *_pair(contrast, "contrast", 1.0), generator, xb.device).view(n, 1, 1, 1)
    mean = xb.mean(dim=(1, 2, 3), keepdim=True)
    out = (xb - mean) * c.to(xb.dtype) + mean + b.to(xb.dtype)
    if clamp:
        out = out.clamp(0.0, 1.0)
    return out.squeeze(0) if single else out


def add_noise(x: torch.Tensor, std: float = 0.05, generator=None, clamp: bool = True) -> torch.Tensor:
    """Add Gaussian pixel noise with standard deviation ``std`` (clamped to ``[0, 1]`` by default)."""
    xb, single = _batched(x)
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    noise = torch.randn(xb.shape, generator=generator).to(device=xb.device, dtype=xb.dtype)
    out = xb + std * noise
    if clamp:
        out = out.clamp(0.0, 1.0)
    return out.squeeze(0) if single else out


def augment(x: torch.Tensor, degrees=10.0, translate=0.1, scale=(0.9, 1.1), shear=0.1,
            brightness=0.0, contrast=0.0, noise=0.0, generator=None) -> torch.Tensor:
    """The course's label-preserving augmentation for digit-like images: affine, then photometric.

    A random affine warp (:func:`random_affine`), then -- when their ranges are non-zero --
    brightness/contrast (:func:`brightness_contrast`) and Gaussian noise (:func:`add_noise`).
    No flips (a mirrored 2 is not a 2). Returns a new tensor of the shape of ``x``.
    """
    out = random_affine(x, degrees, translate, scale, shear, generator)
    if brightness or contrast:
        out = brightness_contrast(out, brightness, contrast, generator)
    if noise:
        out = add_noise(out, noise, generator)
    return out
