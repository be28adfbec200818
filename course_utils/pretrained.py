"""The course's own pretrained base: a small CNN trained on printed characters (``course_utils.glyphs``).

No model hub is reachable offline, so the course ships a checkpoint made by
``tools/pretrain_base.py`` (seeded; rerun it to reproduce the file) in ``course_utils/assets/``.
:func:`load_pretrained` checks the file's SHA-256 against :data:`CHECKPOINT_SHA256` before
loading, so a corrupted or silently replaced checkpoint fails loudly instead of giving subtly
wrong results.

The architecture, for 1x16x16 images::

    features  block1: conv3x3 1->16,  batch norm, ReLU, max-pool 2   -> 16 x 8 x 8
              block2: conv3x3 16->32, batch norm, ReLU, max-pool 2   -> 32 x 4 x 4
              block3: conv3x3 32->64, batch norm, ReLU, max-pool 2   -> 64 x 2 x 2
    flatten                                                          -> 256 (FEATURE_DIM)
    head      linear 256 -> number of classes (36 characters when pretrained)

Example::

    from course_utils.pretrained import load_pretrained
    model = load_pretrained()          # GlyphNet in eval mode, 36-character head
    feats = model.embed(x)             # (N, 256) features of images x (N, 1, 16, 16)
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

__all__ = ["FEATURE_DIM", "GlyphNet", "CHECKPOINT", "CHECKPOINT_SHA256", "ChecksumError", "sha256_of",
           "load_pretrained", "checkpoint_info"]

FEATURE_DIM = 256
CHANNELS = (16, 32, 64)

CHECKPOINT = Path(__file__).resolve().parent / "assets" / "glyphnet.pt"
#: SHA-256 of the shipped checkpoint (printed by ``tools/pretrain_base.py``).
CHECKPOINT_SHA256 = "ede7d6321aaed60e15937a6bb6d1b115fddcf26307450fc21d9c8473bc6d129d"


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.MaxPool2d(2))


class GlyphNet(nn.Module):
    """Three conv blocks (``features``), ``flatten`` and a linear ``head``; input (N, 1, 16, 16)."""

    def __init__(self, num_classes: int = 36):
        super().__init__()
        c1, c2, c3 = CHANNELS
        self.features = nn.Sequential(_block(1, c1), _block(c1, c2), _block(c2, c3))
        self.flatten = nn.Flatten()
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Features before the head: (N, 1, 16, 16) -> (N, FEATURE_DIM)."""
        return self.flatten(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class ChecksumError(RuntimeError):
    """The checkpoint file is not the one the course shipped."""


def sha256_of(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_checkpoint(path, sha256: str | None) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained checkpoint not found at {path}. It ships with course_utils; reinstall the "
            f"course package, or recreate it with `python tools/pretrain_base.py`.")
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256:
            raise ChecksumError(
                f"checkpoint {path} has SHA-256 {actual}, expected {sha256}. The file is corrupted or "
                f"not the one the course shipped: restore it (git checkout -- {path.name}) or reinstall "
                f"course_utils. If you retrained it on purpose, update CHECKPOINT_SHA256.")
    return torch.load(path, map_location="cpu", weights_only=True)


def checkpoint_info(path=CHECKPOINT, sha256: str | None = CHECKPOINT_SHA256) -> dict:
    """The checkpoint's metadata (source task, classes, accuracy, training settings)."""
    return dict(_read_checkpoint(path, sha256)["meta"])


def load_pretrained(path=CHECKPOINT, sha256: str | None = CHECKPOINT_SHA256, device=None) -> GlyphNet:
    """The pretrained character network, in eval mode, after checking the file's SHA-256.

    Args:
        path: checkpoint file (default: the one shipped in ``course_utils/assets``).
        sha256: expected hex digest; ``None`` skips the check (for a checkpoint you just trained).
        device: where to put the model (default CPU).
    Returns:
        A fresh :class:`GlyphNet` with the 36-character head; every call returns a new copy.
    Raises:
        FileNotFoundError: no file at ``path``.
        ChecksumError: the file's SHA-256 differs from ``sha256``.
    """
    state = _read_checkpoint(path, sha256)
    model = GlyphNet(num_classes=int(state["meta"]["num_classes"]))
    model.load_state_dict(state["state_dict"])
    model.eval()
    return model.to(device) if device is not None else model
