"""Tests for course_utils.initialization: fixed-std initialisation and the figure-7.4 variance sweep."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.initialization import init_normal_, propagation_stats, variance_sweep
from course_utils.nets import hidden_linears, layer_statistics, make_mlp


def test_init_normal_sets_every_linear_and_bias():
    torch.manual_seed(0)
    net = make_mlp(300, 200, width=400, depth=2)
    assert init_normal_(net, 0.05, bias=0.3) is net
    for layer in [m for m in net.modules() if isinstance(m, nn.Linear)]:
        assert float(layer.weight.detach().std()) == pytest.approx(0.05, rel=0.03)
        assert torch.all(layer.bias == 0.3)


def test_init_normal_per_layer_std_and_zero():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(800, 400), nn.ReLU(), nn.Linear(400, 200, bias=False))
    init_normal_(net, lambda fan_in, fan_out: math.sqrt(2 / fan_in))
    assert float(net[0].weight.detach().std()) == pytest.approx(math.sqrt(2 / 800), rel=0.03)
    assert float(net[2].weight.detach().std()) == pytest.approx(math.sqrt(2 / 400), rel=0.03)
    init_normal_(net, 0.0)
    assert all(torch.all(p == 0) for p in net.parameters())
    with pytest.raises(ValueError):
        init_normal_(net, -1.0)


def test_propagation_is_seeded_and_leaves_global_rng():
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = propagation_stats(0.1, depth=5, width=20, batch=16, seed=3)
    b = propagation_stats(0.1, depth=5, width=20, batch=16, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    for key in ("act_var", "act_std", "grad_var", "grad_std"):
        assert a[key].shape == (5,)
        np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_allclose(a["act_std"] ** 2, a["act_var"], rtol=1e-12)


def test_sweep_spans_beyond_float32_and_matches_theory():
    sweep = variance_sweep([0.001, 0.02, 1.0], variance=True, depth=50, width=100, batch=64)
    assert sweep["act_var"].shape == (3, 50) and sweep["grad_var"].shape == (3, 50)
    np.testing.assert_allclose(sweep["sigma"], np.sqrt([0.001, 0.02, 1.0]))
    last = np.log10(sweep["act_var"][:, -1])
    assert np.all(np.isfinite(last))                 # float64: no 0 and no inf
    assert last[0] < -50 and last[2] > 70 and abs(last[1]) < 2
    # ReLU nets are positively homogeneous: one more decade of sigma^2 is 49 more decades of variance at layer 50
    assert last[2] - last[1] == pytest.approx(50 * math.log10(50), abs=1e-6)


def test_sum_loss_gives_unit_gradient_at_the_output():
    stats = propagation_stats(math.sqrt(2 / 30), depth=3, width=30, batch=8, loss="sum")
    assert np.all(stats["grad_std"] > 0)
    with pytest.raises(ValueError):
        propagation_stats(0.1, loss="cross_entropy")


def test_layer_statistics_keep_float64_range():
    torch.manual_seed(0)
    net = init_normal_(make_mlp(10, 1, width=10, depth=40).double(), 3.0)
    stats = layer_statistics(net, torch.randn(4, 10, dtype=torch.float64))
    assert math.isfinite(stats["act_var"][-1]) and stats["act_var"][-1] > 1e40  # would be inf in float32
    assert len(stats["act_var"]) == len(hidden_linears(net))
