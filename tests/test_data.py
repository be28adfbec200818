"""Tests for course_utils.data: shapes, dtypes, ranges, determinism and offline behaviour."""
import random
import socket

import matplotlib

matplotlib.use("Agg")  # mnist1d imports pyplot; never open a window in tests

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import data


# --------------------------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------------------------
def test_digits_default_shapes_dtypes_and_range():
    X, y = data.load_digits()
    assert X.shape == (1797, 1, 8, 8)
    assert X.dtype == torch.float32
    assert y.shape == (1797,)
    assert y.dtype == torch.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))


@pytest.mark.parametrize("size", [16, 28])
def test_digits_resized(size):
    X8, y8 = data.load_digits()
    X, y = data.load_digits(size=size)
    assert X.shape == (1797, 1, size, size)
    assert X.dtype == torch.float32
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert torch.equal(y, y8)
    # Still the same pictures: shrinking back gives (nearly) the original, same brightness.
    back = F.interpolate(X, size=(8, 8), mode="area")
    assert (back - X8).abs().mean() < 0.1
    assert torch.allclose(X.mean(dim=(1, 2, 3)), X8.mean(dim=(1, 2, 3)), atol=0.02)


def test_digits_flatten_and_unnormalized():
    X, _ = data.load_digits(size=16, flatten=True)
    assert X.shape == (1797, 256)
    raw, _ = data.load_digits(normalize=False)
    assert raw.max() == 16.0 and raw.min() == 0.0
    assert torch.allclose(raw / 16, data.load_digits()[0])


def test_digits_returns_fresh_tensors():
    X, y = data.load_digits()
    X.fill_(5.0)
    y.fill_(-1)
    X2, y2 = data.load_digits()
    assert X2.max() == 1.0
    assert y2.min() == 0


def test_digits_bad_size():
    with pytest.raises(ValueError, match="size must be >= 8"):
        data.load_digits(size=4)
    with pytest.raises(TypeError, match="size must be an integer"):
        data.load_digits(size=16.0)


# --------------------------------------------------------------------------------------------
# MNIST-1D
# --------------------------------------------------------------------------------------------
def test_mnist1d_shapes_and_dtypes():
    d = data.make_mnist1d(num_samples=500, train_split=0.8, seed=1)
    assert set(d) == {"x_train", "y_train", "x_test", "y_test", "t"}
    assert d["x_train"].shape == (400, 40) and d["x_train"].dtype == torch.float32
    assert d["y_train"].shape == (400,) and d["y_train"].dtype == torch.int64
    assert d["x_test"].shape == (100, 40) and d["x_test"].dtype == torch.float32
    assert d["y_test"].shape == (100,) and d["y_test"].dtype == torch.int64
    assert d["t"].shape == (40,) and d["t"].dtype == torch.float32
    labels = torch.cat([d["y_train"], d["y_test"]])
    assert torch.bincount(labels).tolist() == [50] * 10  # balanced classes
    everything = torch.cat([d["x_train"], d["x_test"]])
    assert abs(everything.mean().item()) < 1e-3  # standardised
    assert abs(everything.std().item() - 1.0) < 1e-2


def test_mnist1d_deterministic_not_just_cached():
    first = data.make_mnist1d(num_samples=300, seed=3)
    data._mnist1d_arrays.cache_clear()  # force a second, independent generation
    second = data.make_mnist1d(num_samples=300, seed=3)
    for key in first:
        assert torch.equal(first[key], second[key]), key
    other = data.make_mnist1d(num_samples=300, seed=4)
    assert not torch.equal(first["x_train"], other["x_train"])


def test_mnist1d_leaves_global_random_state_alone():
    data._mnist1d_arrays.cache_clear()
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())

    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    data.make_mnist1d(num_samples=200, seed=7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_mnist1d_never_touches_network_or_disk(monkeypatch, tmp_path):
    import mnist1d.data

    def no_network(*args, **kwargs):
        raise AssertionError("make_mnist1d tried to use the network")

    monkeypatch.setattr(mnist1d.data.requests, "get", no_network)
    monkeypatch.setattr(mnist1d.data, "get_dataset", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.chdir(tmp_path)  # get_dataset would write mnist1d_data.pkl here
    data._mnist1d_arrays.cache_clear()
    d = data.make_mnist1d(num_samples=100, seed=11)
    assert d["x_train"].shape == (80, 40)
    assert list(tmp_path.iterdir()) == []


def test_mnist1d_returns_fresh_tensors():
    d = data.make_mnist1d(num_samples=100, seed=5)
    kept = d["x_train"].clone()
    d["x_train"].zero_()
    assert torch.equal(data.make_mnist1d(num_samples=100, seed=5)["x_train"], kept)


def test_mnist1d_bad_arguments():
    with pytest.raises(ValueError, match="train_split"):
        data.make_mnist1d(num_samples=100, train_split=1.0)
    with pytest.raises(ValueError, match="num_samples"):
        data.make_mnist1d(num_samples=5)
    with pytest.raises(ValueError, match="seed"):
        data.make_mnist1d(num_samples=100, seed=-1)


# --------------------------------------------------------------------------------------------
# label noise
# --------------------------------------------------------------------------------------------
def test_label_noise_exact_count_and_different_labels():
    y = torch.arange(1000) % 10
    original = y.clone()
    noisy, flipped = data.add_label_noise(y, 0.3, num_classes=10, seed=0)
    assert noisy.dtype == torch.int64 and flipped.dtype == torch.bool
    assert noisy.shape == y.shape == flipped.shape
    assert flipped.sum().item() == 300
    assert torch.all(noisy[flipped] != y[flipped])
    assert torch.equal(noisy[~flipped], y[~flipped])
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert torch.equal(y, original)  # input untouched


def test_label_noise_is_uniform_over_other_classes_and_seeded():
    y = torch.zeros(3000, dtype=torch.int64)
    noisy, flipped = data.add_label_noise(y, 1.0, num_classes=4, seed=1)
    assert flipped.all()
    counts = torch.bincount(noisy, minlength=4).tolist()
    assert counts[0] == 0
    assert all(900 < c < 1100 for c in counts[1:]), counts
    again, _ = data.add_label_noise(y, 1.0, num_classes=4, seed=1)
    assert torch.equal(noisy, again)
    other, _ = data.add_label_noise(y, 1.0, num_classes=4, seed=2)
    assert not torch.equal(noisy, other)


def test_label_noise_edges_and_errors():
    y = torch.tensor([0, 1, 2, 1, 0])
    noisy, flipped = data.add_label_noise(y, 0.0, num_classes=3)
    assert torch.equal(noisy, y) and not flipped.any()
    _, flipped = data.add_label_noise(np.array([0, 1, 2, 1, 0]), 0.5, num_classes=3)
    assert flipped.sum() == round(0.5 * 5)
    with pytest.raises(ValueError, match="fraction"):
        data.add_label_noise(y, 1.5, num_classes=3)
    with pytest.raises(ValueError, match="0..1"):
        data.add_label_noise(y, 0.5, num_classes=2)
    with pytest.raises(ValueError, match="integer class labels"):
        data.add_label_noise(y.float(), 0.5, num_classes=3)


# --------------------------------------------------------------------------------------------
# 1-D regression
# --------------------------------------------------------------------------------------------
def test_regression_shapes_range_and_noise():
    x, y = data.make_regression_1d(n=20)
    assert x.shape == y.shape == (20, 1)
    assert x.dtype == y.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1

    x, y = data.make_regression_1d(n=5000, noise=0.1, seed=1, fn="cubic", x_range=(0, 2))
    assert x.min() >= 0 and x.max() <= 2 and x.std() > 0.5  # spread over the whole range
    residual = y - data.regression_truth("cubic", x)
    assert abs(residual.mean().item()) < 0.01
    assert abs(residual.std().item() - 0.1) < 0.01


def test_regression_noiseless_matches_truth_and_is_seeded():
    x, y = data.make_regression_1d(n=50, noise=0.0, fn="sine")
    assert torch.allclose(y, torch.sin(torch.pi * x), atol=1e-6)
    x2, y2 = data.make_regression_1d(n=50, noise=0.0, fn="sine")
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _ = data.make_regression_1d(n=50, noise=0.0, fn="sine", seed=1)
    assert not torch.equal(x, x3)


def test_regression_callable_and_truth():
    x, y = data.make_regression_1d(n=30, noise=0.0, fn=lambda t: 3 * t)
    assert torch.allclose(y, 3 * x)
    grid = torch.linspace(-1, 1, 101)
    truth = data.regression_truth("sine", grid)
    assert truth.shape == (101,) and truth.dtype == torch.float32
    assert truth[50].abs() < 1e-6 and abs(truth[75].item() - 1.0) < 1e-6  # sin(0), sin(pi/2)
    for name in data.REGRESSION_FUNCTIONS:
        assert data.regression_truth(name, grid).shape == grid.shape


def test_regression_errors():
    with pytest.raises(ValueError, match="fn must be"):
        data.make_regression_1d(fn="nope")
    with pytest.raises(ValueError, match="low < high"):
        data.make_regression_1d(x_range=(1, -1))
    with pytest.raises(ValueError, match="noise"):
        data.make_regression_1d(noise=-0.1)
    with pytest.raises(ValueError, match="one value per input"):
        data.regression_truth(lambda t: t.sum(), torch.zeros(5))


# --------------------------------------------------------------------------------------------
# 2-D classification
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,num_classes", [("moons", 2), ("circles", 2), ("spirals", 3), ("blobs", 4)])
def test_classification_2d(kind, num_classes):
    X, y = data.make_classification_2d(n=301, kind=kind, num_classes=num_classes, seed=0)
    assert X.shape == (301, 2) and X.dtype == torch.float32
    assert y.shape == (301,) and y.dtype == torch.int64
    counts = torch.bincount(y).tolist()
    assert len(counts) == num_classes and max(counts) - min(counts) <= 1
    assert torch.isfinite(X).all()
    assert len(set(y[:20].tolist())) > 1  # shuffled, not in class blocks
    X2, y2 = data.make_classification_2d(n=301, kind=kind, num_classes=num_classes, seed=0)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    X3, _ = data.make_classification_2d(n=301, kind=kind, num_classes=num_classes, seed=1)
    assert not torch.equal(X, X3)


def test_classification_geometry_without_noise():
    X, y = data.make_classification_2d(n=300, kind="circles", noise=0.0, num_classes=3)
    radius = X.norm(dim=1)
    for k in range(3):
        assert torch.allclose(radius[y == k], torch.full_like(radius[y == k], (k + 1) / 3), atol=1e-5)
    X, y = data.make_classification_2d(n=300, kind="blobs", noise=0.0, num_classes=3)
    for k in range(3):
        assert len(torch.unique(X[y == k], dim=0)) == 1  # every point at its class centre


def test_classification_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        data.make_classification_2d(kind="stars")
    with pytest.raises(ValueError, match="exactly 2 classes"):
        data.make_classification_2d(kind="moons", num_classes=3)
    with pytest.raises(ValueError, match="num_classes"):
        data.make_classification_2d(kind="blobs", num_classes=1)


# --------------------------------------------------------------------------------------------
# train / val / test split
# --------------------------------------------------------------------------------------------
def _ids(part):
    return set(part[:, 0].tolist())


def test_split_sizes_disjoint_and_covering():
    n = 1000
    X = torch.arange(n).float().unsqueeze(1)  # each row carries its own index
    y = torch.arange(n) % 3
    split = data.train_val_test_split(X, y, fractions=(0.6, 0.25, 0.15), seed=0)
    assert isinstance(split, data.Split)
    assert (len(split.x_train), len(split.x_val), len(split.x_test)) == (600, 250, 150)
    ids = [_ids(split.x_train), _ids(split.x_val), _ids(split.x_test)]
    assert sum(len(s) for s in ids) == n
    assert set().union(*ids) == set(range(n))
    # rows and labels stay paired
    for xs, ys in ((split.x_train, split.y_train), (split.x_val, split.y_val), (split.x_test, split.y_test)):
        assert torch.equal(xs[:, 0].long() % 3, ys)


def test_split_is_stratified():
    X, y = data.load_digits(flatten=True)
    split = data.train_val_test_split(X, y, seed=0)
    overall = torch.bincount(y, minlength=10).float() / len(y)
    for part in (split.y_train, split.y_val, split.y_test):
        share = torch.bincount(part, minlength=10).float() / len(part)
        assert (share - overall).abs().max() < 0.01
    # an unstratified split of a rare class is visibly less even
    y_rare = (torch.arange(200) < 20).long()  # 10 % positives
    strat = data.train_val_test_split(torch.zeros(200, 2), y_rare, fractions=(0.5, 0.25, 0.25), seed=0)
    assert [int(p.sum()) for p in (strat.y_train, strat.y_val, strat.y_test)] == [10, 5, 5]


def test_split_deterministic_and_seed_dependent():
    X, y = data.make_classification_2d(n=200)
    a = data.train_val_test_split(X, y, seed=3)
    b = data.train_val_test_split(X, y, seed=3)
    c = data.train_val_test_split(X, y, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(a.x_train, c.x_train)


def test_split_empty_validation_and_float_targets():
    X, y = data.load_digits()
    split = data.train_val_test_split(X, y, fractions=(0.8, 0.0, 0.2))
    assert split.x_val.shape == (0, 1, 8, 8) and split.y_val.shape == (0,)
    assert len(split.x_train) + len(split.x_test) == len(X)
    x, t = data.make_regression_1d(n=40)
    split = data.train_val_test_split(x, t)  # float targets: a plain random split
    assert len(split.x_train) == 28 and split.y_train.shape == (28, 1)


@pytest.mark.parametrize(
    "fractions,message",
    [((0.7, 0.2, 0.2), "sum to 1"), ((0.5, 0.5), "3 entries"), ((1.2, -0.1, -0.1), "non-negative"),
     ((0.0, 0.5, 0.5), "positive train")],
)
def test_split_rejects_bad_fractions(fractions, message):
    with pytest.raises(ValueError, match=message):
        data.train_val_test_split(torch.zeros(10, 2), torch.zeros(10, dtype=torch.long), fractions=fractions)


def test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same number of examples"):
        data.train_val_test_split(torch.zeros(10, 2), torch.zeros(9, dtype=torch.long))


# --------------------------------------------------------------------------------------------
# sample image
# --------------------------------------------------------------------------------------------
def test_sample_image_shape_and_range():
    image = data.load_sample_image()
    assert image.shape == (3, 600, 512) and image.dtype == torch.float32
    assert image.min() >= 0 and image.max() <= 1
    assert image.std() > 0.1  # a real picture, not a blank
    gray = data.load_sample_image(gray=True)
    assert gray.shape == (1, 600, 512)
    expected = 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    assert torch.allclose(gray[0], expected, atol=1e-5)


def test_sample_image_resize_and_fresh_copy():
    small = data.load_sample_image(size=64)
    assert small.shape == (3, 64, 64) and small.min() >= 0 and small.max() <= 1
    assert data.load_sample_image(size=(30, 40), gray=True).shape == (1, 30, 40)
    small.zero_()
    assert data.load_sample_image(size=64).max() > 0
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_sample_image("mona_lisa")
    with pytest.raises(ValueError, match="size must be"):
        data.load_sample_image(size=(1, 2, 3))


# --------------------------------------------------------------------------------------------
# loaders
# --------------------------------------------------------------------------------------------
def _batches(loader):
    return [tuple(t.clone() for t in batch) for batch in loader]


def test_loader_reproducible_and_independent_of_global_seed():
    X = torch.arange(100).float().unsqueeze(1)
    y = torch.arange(100)
    torch.manual_seed(0)
    first = _batches(data.make_loader(X, y, batch_size=32, seed=5))
    torch.manual_seed(999)
    second = _batches(data.make_loader(X, y, batch_size=32, seed=5))
    assert [len(b[0]) for b in first] == [32, 32, 32, 4]
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, second))
    assert not torch.equal(first[0][0], X[:32])  # actually shuffled
    assert sorted(torch.cat([b[1] for b in first]).tolist()) == list(range(100))
    other = _batches(data.make_loader(X, y, batch_size=32, seed=6))
    assert not torch.equal(first[0][0], other[0][0])


def test_loader_options_and_errors():
    X = torch.arange(10).float().unsqueeze(1)
    ordered = _batches(data.make_loader(X, torch.arange(10), batch_size=4, shuffle=False))
    assert torch.equal(ordered[0][1], torch.arange(4))
    assert len(_batches(data.make_loader(X, torch.arange(10), batch_size=4, drop_last=True))) == 2
    (only,) = next(iter(data.make_loader(X, batch_size=10)))
    assert only.shape == (10, 1)
    with pytest.raises(ValueError, match="same number of examples"):
        data.make_loader(X, torch.arange(9))
    with pytest.raises(ValueError, match="batch_size"):
        data.make_loader(X, torch.arange(10), batch_size=0)


def test_digits_read_directly_match_scikit_learn():
    """_raw_digits reads sklearn's CSV itself (skipping a 1 s import): same pixels, same labels."""
    from sklearn.datasets import load_digits as sklearn_load_digits

    from course_utils.data import _raw_digits

    images, labels = _raw_digits()
    bunch = sklearn_load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(images, bunch.images.astype(np.float32))
    np.testing.assert_array_equal(labels, bunch.target)
