"""MNIST and FashionMNIST, downloaded once with pooch (hash-checked, cached) -- for online use only.

Course notebooks never *need* these: every graded or tested cell runs offline. The optional
"at real scale" sections (e.g. on Colab) use them. Each file is checked against its known hash
(the MD5 sums torchvision uses) and cached, so the second call works offline. Without a
network and without a cached copy, :class:`DatasetUnavailable` says so clearly.

Example::

    from course_utils.datasets_remote import load_mnist
    x, y = load_mnist("fashion", split="train", limit=5000)  # (5000, 1, 28, 28) float32, (5000,) int64

The cache directory is ``$COURSE_DATA_DIR`` if set, else pooch's per-user cache
(``pooch.os_cache("course_utils")``).
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["DATASETS", "FASHION_CLASSES", "DatasetUnavailable", "read_idx", "fetch", "load_mnist", "cache_dir"]

#: base URL and the known MD5 of every file, per data set
DATASETS = {
    "mnist": {
        "url": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "files": {
            "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
        },
    },
    "fashion": {
        "url": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "files": {
            "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetUnavailable(RuntimeError):
    """The data set could not be downloaded (offline, blocked, or a file failed its hash check)."""


def cache_dir() -> Path:
    """Where downloads are cached: ``$COURSE_DATA_DIR`` or pooch's per-user cache."""
    import pooch

    return Path(os.environ.get("COURSE_DATA_DIR") or pooch.os_cache("course_utils"))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format; gzipped if the name ends in ``.gz``) into an array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=_IDX_DTYPES[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape}, found {array.size} values")
    return array.reshape(shape)


def fetch(name: str, filename: str, base_url: str | None = None, known_hash: str | None = None,
          path=None) -> Path:
    """Download (or find in the cache) one file of a data set and return its local path.

    ``base_url`` and ``known_hash`` default to :data:`DATASETS`; pass them to use a mirror.
    Raises :class:`DatasetUnavailable` when the file cannot be downloaded or fails its hash check.
    """
    import pooch

    if name not in DATASETS:
        raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")
    spec = DATASETS[name]
    if filename not in spec["files"] and known_hash is None:
        raise ValueError(f"unknown file {filename!r} for {name}; known: {sorted(spec['files'])}")
    url = (base_url or spec["url"]).rstrip("/") + "/" + filename
    folder = Path(path) if path is not None else cache_dir() / name
    try:
        local = pooch.retrieve(url, known_hash=known_hash or spec["files"][filename], fname=filename,
                               path=folder, progressbar=False)
    except ValueError as err:  # pooch raises ValueError on a hash mismatch
        raise DatasetUnavailable(f"{filename} from {url} failed its hash check and was deleted: {err}") from err
    except Exception as err:  # requests' ConnectionError, HTTPError, timeouts, ...
        raise DatasetUnavailable(
            f"could not download {url} ({type(err).__name__}). Are you offline? This loader needs the "
            f"internet once; afterwards the file is cached in {folder}. You can also copy the file "
            f"there by hand.") from err
    return Path(local)


def load_mnist(name: str = "mnist", split: str = "train", limit: int | None = None, base_url: str | None = None,
               hashes: dict | None = None, path=None):
    """MNIST (``"mnist"``) or FashionMNIST (``"fashion"``) as tensors.

    Args:
        name: ``"mnist"`` or ``"fashion"``.
        split: ``"train"`` (60 000 images) or ``"test"`` (10 000).
        limit: keep only the first ``limit`` images.
        base_url, hashes, path: a mirror URL, ``{filename: "md5:..."}`` for its files, and a cache
            folder (defaults: :data:`DATASETS` and :func:`cache_dir`).
    Returns:
        ``(x, y)``: float32 ``(N, 1, 28, 28)`` in ``[0, 1]`` and int64 ``(N,)`` labels 0..9.
    Raises:
        DatasetUnavailable: offline with no cached copy, or a file failed its hash check.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    files = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    hashes = hashes or {}
    images, labels = (read_idx(fetch(name, f, base_url, hashes.get(f), path)) for f in files)
    if len(images) != len(labels):
        raise ValueError(f"{name} {split}: {len(images)} images but {len(labels)} labels")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 255.0
    return x, torch.tensor(labels.astype(np.int64))
