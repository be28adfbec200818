"""Tests for course_utils.landscape: filter-normalised directions and loss slices."""
import numpy as np
import torch

from course_utils.landscape import filter_normalized_direction, loss_slice_1d, loss_slice_2d


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))


def test_filter_normalisation():
    net = _net()
    d = filter_normalized_direction(net, torch.Generator().manual_seed(1))
    for name, p in net.named_parameters():
        assert d[name].shape == p.shape
        if p.ndim == 1:
            assert torch.all(d[name] == 0)
        else:
            torch.testing.assert_close(d[name].norm(dim=1), p.detach().norm(dim=1))


def test_slices_leave_model_unchanged_and_centre_is_the_loss():
    net = _net()
    before = [p.detach().clone() for p in net.parameters()]
    x, y = torch.randn(20, 5), torch.randint(0, 3, (20,))
    loss_fn = torch.nn.functional.cross_entropy
    gen = torch.Generator().manual_seed(2)
    d1, d2 = filter_normalized_direction(net, gen), filter_normalized_direction(net, gen)
    alphas = np.linspace(-1, 1, 5)
    f = loss_slice_1d(net, loss_fn, x, y, d1, alphas)
    with torch.no_grad():
        centre = float(loss_fn(net(x), y))
    assert f.shape == (5,) and np.isclose(f[2], centre, rtol=1e-6)
    Z = loss_slice_2d(net, loss_fn, x, y, d1, d2, alphas, alphas[:3])
    assert Z.shape == (3, 5)
    assert np.isclose(loss_slice_2d(net, loss_fn, x, y, d1, d2, [0.0], [0.0])[0, 0], centre, rtol=1e-6)
    np.testing.assert_allclose(Z[:, 2][:1], loss_slice_1d(net, loss_fn, x, y, d2, [-1.0]), rtol=1e-5)
    for p, q in zip(before, net.parameters()):
        assert torch.equal(p, q)
