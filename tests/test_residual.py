"""Tests for course_utils.residual: gradient curves, correlation length, path gradients, the explorer."""
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.nets import make_mlp
from course_utils.residual import (
    correlation_length,
    gradient_curves,
    he_init_,
    input_gradient,
    path_gradients,
    plot_autocorrelations,
    plot_gradient_curves,
    residual_blocks,
    shattering_explorer,
)


def _acf(g, max_lag):
    """A plain autocorrelation for the tests (the lesson's exercise is written by the student)."""
    g = np.asarray(g, dtype=float)
    c = g - g.mean()
    return np.array([(c[: len(c) - k] * c[k:]).sum() / (c * c).sum() for k in range(max_lag + 1)])


def test_he_init_scales_and_biases():
    torch.manual_seed(0)
    net = he_init_(make_mlp(200, 3, width=200, depth=2), bias_std=0.5)
    w = net.blocks[1].linear.weight
    assert abs(float(w.detach().std()) - math.sqrt(2 / 200)) < 0.005
    assert abs(float(net.blocks[1].linear.bias.detach().std()) - 0.5) < 0.15
    assert torch.all(he_init_(make_mlp(4, 2, 5, 2)).head.bias == 0)
    with pytest.raises(ValueError, match="bias_std"):
        he_init_(net, bias_std=-1.0)


def test_input_gradient_matches_finite_differences_and_leaves_model_alone():
    torch.manual_seed(1)
    net = he_init_(make_mlp(1, 1, 8, 3, residual=True), bias_std=1.0).double().train()
    x = np.linspace(-1, 1, 7)
    g = input_gradient(net.float(), x)
    assert g.shape == (7,) and g.dtype == np.float64
    net = net.double()
    eps = 1e-6
    with torch.no_grad():
        xt = torch.tensor(x)[:, None]
        fd = ((net(xt + eps) - net(xt - eps)) / (2 * eps))[:, 0].numpy()
    np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-4)
    assert net.training  # mode restored


def test_input_gradient_with_batch_norm_uses_batch_statistics_without_touching_the_model():
    net = make_mlp(1, 1, 6, 3, residual=True, norm="batch", seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    g = input_gradient(net, torch.linspace(-2, 2, 50))
    assert np.all(np.isfinite(g)) and g.std() > 0
    for name, tensor in net.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_input_gradient_errors():
    net = make_mlp(1, 1, 4, 2)
    with pytest.raises(ValueError, match="shape"):
        input_gradient(net, torch.zeros(5, 2))
    with pytest.raises(ValueError, match="N >= 2"):
        input_gradient(net, [0.5])
    with pytest.raises(ValueError, match="map \\(N, 1\\)"):
        input_gradient(make_mlp(1, 3, 4, 2), [0.0, 1.0])


def test_gradient_curves_shapes_determinism_and_shattering():
    x, g = gradient_curves(2, seeds=[0, 1], n_points=64)
    assert x.shape == (64,) and g.shape == (2, 64)
    np.testing.assert_array_equal(g, gradient_curves(2, seeds=[0, 1], n_points=64)[1])
    assert not np.allclose(g[0], g[1])
    # the effect the lesson shows, averaged over a few networks: deep plain gradients decorrelate sooner
    shallow = np.mean([_acf(c, 40) for c in gradient_curves(1, seeds=range(4))[1]], axis=0)
    deep = np.mean([_acf(c, 40) for c in gradient_curves(30, seeds=range(4))[1]], axis=0)
    assert correlation_length(deep) < correlation_length(shallow)
    with pytest.raises(ValueError, match="norm"):
        gradient_curves(2, norm="group")
    with pytest.raises(ValueError, match="seeds"):
        gradient_curves(2, seeds=[])
    with pytest.raises(ValueError, match="depth"):
        gradient_curves(0)
    with pytest.raises(ValueError, match="x_range"):
        gradient_curves(2, x_range=(1, -1))


def test_correlation_length():
    assert correlation_length([1.0, 0.8, 0.6, 0.4, 0.1], dx=0.5) == 1.5
    assert correlation_length([1.0, 0.9], dx=2.0) == math.inf
    assert correlation_length(np.array([1.0, 0.2]), threshold=0.1) == math.inf
    for bad in ([], [[1.0, 0.5]]):
        with pytest.raises(ValueError, match="1-D"):
            correlation_length(bad)
    with pytest.raises(ValueError, match="dx"):
        correlation_length([1.0, 0.0], dx=0)
    with pytest.raises(ValueError, match="threshold"):
        correlation_length([1.0, 0.0], threshold=1.0)


def test_plots():
    import matplotlib.pyplot as plt

    x = np.linspace(-1, 1, 20)
    axes = plot_gradient_curves({"a": (x, np.sin(5 * x)), "b": (x, np.ones(20))})
    assert len(axes) == 2
    ax = plot_autocorrelations({"a": _acf(np.sin(5 * x), 10)}, dx=0.1, styles={"a": {"ls": "--"}})
    assert len(ax.lines) >= 1
    with pytest.raises(ValueError, match="non-empty"):
        plot_gradient_curves({})
    with pytest.raises(ValueError, match="equal length"):
        plot_gradient_curves({"a": (x, x[:5])})
    with pytest.raises(ValueError, match="dx"):
        plot_autocorrelations({"a": [1.0]}, dx=-1)
    plt.close("all")


def test_path_gradients_sum_to_the_autograd_gradient():
    torch.manual_seed(0)
    net = make_mlp(5, 3, width=6, depth=5, residual=True, norm="batch", seed=3).double()
    net.train()
    with torch.no_grad():
        net(torch.randn(20, 5, dtype=torch.float64))  # non-trivial running statistics
    x, y = torch.randn(4, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    result = path_gradients(net, x, y, n_samples=3)
    assert net.training  # mode restored
    n = len(residual_blocks(net))
    assert n == 4
    for key in ("length", "total", "per_path"):
        assert result[key].shape == (n + 1,)
    assert result["gradient"].shape == (4, 6)
    net.eval()
    h = net.blocks[0](x).detach().requires_grad_(True)
    out = h
    for block in net.blocks[1:]:
        out = block(out)
    (grad,) = torch.autograd.grad(F.cross_entropy(net.head(out), y, reduction="sum"), h)
    np.testing.assert_allclose(result["gradient"], grad.numpy(), rtol=1e-10, atol=1e-12)
    # length 0 (skips only) and length n (every branch) are single paths: per_path equals total there
    assert np.isclose(result["total"][0], result["per_path"][0])
    assert np.isclose(result["total"][-1], result["per_path"][-1])
    with pytest.raises(ValueError, match="no residual blocks"):
        path_gradients(make_mlp(5, 3, 6, 3), x.float(), y)
    with pytest.raises(ValueError, match="n_samples"):
        path_gradients(net, x, y, n_samples=0)


def test_shattering_explorer_lookups_are_fast_and_use_the_given_function():
    calls = []

    def acf(g, max_lag):
        calls.append(len(g))
        return torch.as_tensor(_acf(g.numpy(), max_lag))

    app = shattering_explorer(acf, depths=(1, 6), seeds=(0,), n_points=64, max_lag=20, progress=False)
    assert calls and set(calls) == {64}
    state = app.update(depth=6, residual=True, normalisation="batch norm")
    assert state.error is None and state.data["acf"].shape == (21,)
    assert state.data["g"].shape == (64,)
    start = time.perf_counter()
    app.update(depth=1, residual=False, normalisation="none")
    app.update(depth=6, residual=False, normalisation="layer norm")
    assert (time.perf_counter() - start) / 2 < 1.0  # generous on a loaded machine; ~30 ms when idle
    assert app.static_png()[:4] == b"\x89PNG"
    with pytest.raises(TypeError, match="function"):
        shattering_explorer("not a function")
    with pytest.raises(ValueError, match="max_lag"):
        shattering_explorer(acf, depths=(1,), n_points=10, max_lag=10, progress=False)
