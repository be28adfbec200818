"""Tests for course_utils.nets: the deep MLP and its per-layer statistics."""
import math

import pytest
import torch

from course_utils.nets import ACTIVATIONS, HiddenBlock, hidden_linears, layer_statistics, make_mlp


def test_shapes_and_layers():
    net = make_mlp(64, 10, width=32, depth=5, activation="tanh")
    assert net(torch.randn(7, 64)).shape == (7, 10)
    assert net(torch.randn(7, 1, 8, 8)).shape == (7, 10)  # images are flattened
    assert len(hidden_linears(net)) == 5
    assert [l.out_features for l in hidden_linears(net)] == [32] * 5


def test_seed_is_reproducible_and_leaves_global_rng():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = make_mlp(4, 2, 8, 3, seed=1), make_mlp(4, 2, 8, 3, seed=1)
    assert torch.equal(torch.get_rng_state(), before)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kwargs, message", [
    ({"activation": "swish"}, "unknown activation"),
    ({"norm": "group"}, "norm must be"),
    ({"dropout": 1.0}, "dropout must be"),
    ({"depth": 0}, "depth must be"),
])
def test_bad_arguments(kwargs, message):
    args = {"in_features": 4, "out_features": 2, "width": 8, "depth": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        make_mlp(**args)


def test_residual_block_adds_input():
    block = HiddenBlock(6, 6, "relu", residual=True)
    x = torch.randn(3, 6)
    assert torch.allclose(block(x), x + torch.relu(block.linear(x)))
    with pytest.raises(ValueError, match="equal widths"):
        HiddenBlock(6, 5, residual=True)


def test_statistics_shapes_and_values():
    torch.manual_seed(0)
    net = make_mlp(20, 3, width=50, depth=4, activation="relu")
    x, y = torch.randn(256, 20), torch.randint(0, 3, (256,))
    stats = layer_statistics(net, x, y)
    assert set(stats) == {"preact_std", "act_std", "act_var", "act_grad_std", "weight_grad_norm", "saturated"}
    assert all(len(v) == 4 for v in stats.values())
    h = torch.relu(net.blocks[0].linear(x)).detach()
    assert stats["act_std"][0] == pytest.approx(float(h.std()), rel=1e-5)
    assert stats["act_var"][0] == pytest.approx(float(h.var()), rel=1e-5)
    assert stats["saturated"][0] == pytest.approx(float((net.blocks[0].linear(x) <= 0).float().mean()))
    assert stats["weight_grad_norm"][0] == pytest.approx(float(net.blocks[0].linear.weight.grad.norm()))


def test_sigmoid_gradients_vanish_and_skips_keep_them():
    x = torch.randn(128, 30)
    plain = layer_statistics(make_mlp(30, 2, 30, 15, "sigmoid", seed=0), x)["weight_grad_norm"]
    assert plain[0] / plain[-1] < 1e-3  # the first layer learns far more slowly than the last
    # with identity skips the gradient reaching the first layer's output is not smaller than the last's
    res = layer_statistics(make_mlp(30, 2, 30, 15, "relu", residual=True, seed=0), x)["act_grad_std"]
    assert res[0] >= res[-1]


def test_saturation_of_sigmoid_with_large_inputs():
    net = make_mlp(10, 2, 20, 2, "sigmoid", seed=0)
    small = layer_statistics(net, torch.randn(64, 10) * 0.1)["saturated"][0]
    large = layer_statistics(net, torch.randn(64, 10) * 100)["saturated"][0]
    assert small == 0.0 and large > 0.5
    assert math.isnan(layer_statistics(make_mlp(4, 2, 8, 2, "identity", seed=0), torch.randn(8, 4))["saturated"][0])


def test_batchnorm_statistics_do_not_double_update_running_stats():
    net = make_mlp(5, 2, 8, 2, "relu", norm="batch", seed=0)
    layer_statistics(net, torch.randn(32, 5))
    assert int(net.blocks[0].norm.num_batches_tracked) == 1


def test_every_activation_builds():
    for name in ACTIVATIONS:
        assert make_mlp(3, 2, 4, 2, name)(torch.randn(2, 3)).shape == (2, 2)
