"""Unit tests for course_utils.activations."""
import pytest
import torch

from course_utils.activations import dead_unit_fraction, hidden_preactivations
from course_utils.nets import make_mlp


def test_dead_unit_fraction_counts_units_not_entries():
    z = torch.tensor([[-1.0, 2.0, 0.0, -3.0],
                      [-2.0, -1.0, 0.0, 5.0]])
    # column 0 dead, column 1 alive on row 0, column 2 exactly zero (dead), column 3 alive on row 1
    assert dead_unit_fraction(z) == 0.5
    assert dead_unit_fraction(-torch.ones(3, 7)) == 1.0
    assert dead_unit_fraction(torch.ones(1, 4)) == 0.0


@pytest.mark.parametrize("bad", [torch.zeros(5), torch.zeros(0, 3), [[1.0]]])
def test_dead_unit_fraction_rejects_bad_shapes(bad):
    with pytest.raises(ValueError):
        dead_unit_fraction(bad)


def test_hidden_preactivations_shapes_and_values():
    net = make_mlp(6, 3, width=5, depth=3, activation="relu", seed=0)
    x = torch.randn(4, 6)
    zs = hidden_preactivations(net, x)
    assert [tuple(z.shape) for z in zs] == [(4, 5)] * 3
    assert torch.allclose(zs[0], net.blocks[0].linear(x).detach())
    assert not any(z.requires_grad for z in zs)
    # hooks are removed: a second call gives the same number of tensors
    assert len(hidden_preactivations(net, x)) == 3
    assert all(not lin._forward_hooks for lin in (b.linear for b in net.blocks))


def test_bias_shift_kills_every_relu_unit():
    net = make_mlp(6, 3, width=8, depth=2, activation="relu", seed=0)
    with torch.no_grad():
        net.blocks[0].linear.bias.fill_(-100.0)
    x = torch.rand(16, 6)
    zs = hidden_preactivations(net, x)
    assert dead_unit_fraction(zs[0]) == 1.0
    assert torch.all(zs[1] == net.blocks[1].linear.bias)  # layer 2 sees only zeros


def test_value_and_derivative_matches_closed_forms():
    from course_utils.activations import value_and_derivative

    z = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0])
    z_before = z.clone()
    f, d = value_and_derivative(torch.sigmoid, z)
    assert torch.allclose(f, torch.sigmoid(z))
    assert torch.allclose(d, torch.sigmoid(z) * (1 - torch.sigmoid(z)))
    assert torch.equal(z, z_before) and not f.requires_grad and not d.requires_grad
    _, d_relu = value_and_derivative(torch.relu, z)
    assert d_relu.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # autograd's convention at 0
    with torch.no_grad():  # works inside no_grad too
        _, d_tanh = value_and_derivative(torch.tanh, z)
    assert torch.allclose(d_tanh, 1 - torch.tanh(z) ** 2)


def test_plot_activations_draws_both_panels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.activations import plot_activations

    ax_f, ax_d = plot_activations({"sigmoid": torch.sigmoid, "ReLU": torch.relu}, z_max=4.0, num=41)
    assert len(ax_f.lines) == 2 and len(ax_d.lines) == 2
    assert ax_f.get_xlabel() and ax_d.get_ylabel() == "g'(z)"
    assert max(ax_d.lines[0].get_ydata()) == pytest.approx(0.25)
    plt.close("all")
    with pytest.raises(ValueError):
        plot_activations({})
