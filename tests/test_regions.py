"""Unit tests for course_utils.regions and course_utils.neural_fields (lesson 08)."""
from __future__ import annotations

import math
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from course_utils.neural_fields import (  # noqa: E402
    RandomFourierFeatures,
    field_mlp,
    fit_full_batch,
    load_field_image,
    pixel_coordinates,
    psnr,
)
from course_utils.regions import (  # noqa: E402
    draw_network,
    explorer_data,
    hinge_segment,
    label_regions,
    lines_from_angles,
    make_grid,
    mlp_patterns,
    plot_output,
    plot_regions,
    random_shallow,
    regions_explorer,
    relu_mlp,
    shallow_module,
)


# ---- grids ---------------------------------------------------------------------------------
def test_grid_order_shape_and_extent():
    g = make_grid((-1.0, 3.0, 0.0, 1.0), (3, 5))
    assert g.points.shape == (15, 2) and g.shape == (3, 5) and g.extent == (-1.0, 3.0, 0.0, 1.0)
    assert g.points.dtype == torch.float64
    # x1 runs fastest, row 0 is ymin
    assert g.points[:5, 1].tolist() == [0.0] * 5 and g.points[:5, 0].tolist() == [-1.0, 0.0, 1.0, 2.0, 3.0]
    assert g.points[-1].tolist() == [3.0, 1.0]
    # values reshape to (ny, nx) images
    assert (g.points[:, 0].reshape(g.shape)[:, 0] == -1.0).all()
    square = make_grid(2.0, 4)
    assert square.shape == (4, 4) and square.extent == (-2.0, 2.0, -2.0, 2.0)


@pytest.mark.parametrize("kwargs", [dict(extent=(1.0, 0.0, 0.0, 1.0)), dict(extent=(0, 1, 0)), dict(resolution=1),
                                    dict(resolution=(2, 0)), dict(resolution=2.5), dict(dtype=torch.int64),
                                    dict(extent=(0.0, float("nan"), 0.0, 1.0))])
def test_grid_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        make_grid(**kwargs)


# ---- parameters and hinges -----------------------------------------------------------------
def test_lines_from_angles_gives_signed_distances():
    theta = lines_from_angles([0.0, math.pi / 2], [0.5, -1.0])
    assert theta.shape == (2, 3)
    x = torch.tensor([[2.0, 3.0]], dtype=torch.float64)
    z = theta[:, 0] + x @ theta[:, 1:].T
    assert torch.allclose(z, torch.tensor([[1.5, 4.0]], dtype=torch.float64))
    with pytest.raises(ValueError):
        lines_from_angles([0.0], [0.1, 0.2])
    with pytest.raises(ValueError):
        lines_from_angles([], [])


def test_random_shallow_shapes_and_seed():
    theta, phi = random_shallow(5, inputs=3, seed=1)
    assert theta.shape == (5, 4) and phi.shape == (6,)
    again, _ = random_shallow(5, inputs=3, seed=1)
    assert torch.equal(theta, again)
    with pytest.raises(ValueError):
        random_shallow(0)
    with pytest.raises(ValueError):
        random_shallow(2, scale=-1.0)


def test_hinge_segment_clips_to_the_box():
    seg = hinge_segment([0.0, 1.0, 0.0], 2.0)              # x1 = 0
    assert sorted(seg) == [(0.0, -2.0), (0.0, 2.0)]
    seg = hinge_segment([0.0, 1.0, -1.0], 1.0)             # x2 = x1, through two corners
    assert sorted(seg) == [(-1.0, -1.0), (1.0, 1.0)]
    assert hinge_segment([5.0, 1.0, 0.0], 1.0) is None     # x1 = -5: outside
    assert hinge_segment([1.0, 0.0, 0.0], 1.0) is None     # no line at all
    with pytest.raises(ValueError):
        hinge_segment([1.0, 2.0], 1.0)


# ---- networks, patterns, labels ------------------------------------------------------------
def test_shallow_module_computes_the_formula():
    theta, phi = random_shallow(4, inputs=2, seed=3)
    x = torch.randn(10, 2, dtype=torch.float64)
    want = phi[0] + torch.relu(theta[:, 0] + x @ theta[:, 1:].T) @ phi[1:]
    assert torch.allclose(shallow_module(theta, phi)(x)[:, 0], want)
    with pytest.raises(ValueError):
        shallow_module(theta, phi[:-1])


def test_seven_regions_for_three_lines_and_patterns_match():
    theta = torch.tensor([[0.25, 1.0, 0.5], [-0.25, -0.5, 1.0], [0.5, -0.75, -1.0]], dtype=torch.float64)
    net = shallow_module(theta, torch.ones(4, dtype=torch.float64))
    grid = make_grid(2.0, 101)
    patterns = mlp_patterns(net, grid.points)
    assert patterns.shape == (101 * 101, 3) and patterns.dtype == torch.bool
    assert torch.equal(patterns, (theta[:, 0] + grid.points @ theta[:, 1:].T) > 0)
    labels, n = label_regions(patterns)
    assert n == 7 and labels.shape == (101 * 101,) and int(labels.max()) == 6


def test_label_regions_paths_agree_and_zero_is_off():
    g = torch.Generator().manual_seed(0)
    p = torch.rand(500, 8, generator=g) > 0.5
    fast, n_fast = label_regions(p)
    rows, inverse = torch.unique(p, dim=0, return_inverse=True)
    assert n_fast == len(rows)
    # same partition: equal labels exactly where equal rows
    assert torch.equal(fast[:, None] == fast[None, :], inverse[:, None] == inverse[None, :])
    wide = torch.rand(50, 70, generator=g) > 0.5                 # slow path (> 62 units)
    assert label_regions(wide)[1] == len(torch.unique(wide, dim=0))
    assert label_regions(torch.zeros(4, 0, dtype=torch.bool))[1] == 1
    with pytest.raises(ValueError):
        label_regions(torch.zeros(3, 2))                         # not bool
    net = relu_mlp([1, 1, 1])
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.zero_()
    assert mlp_patterns(net, torch.tensor([[0.0], [1.0]])).tolist() == [[False], [True]]


def test_relu_mlp_and_mlp_patterns_shapes_and_errors():
    net = relu_mlp([2, 4, 3, 1], seed=0)
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert mlp_patterns(net, torch.zeros(5, 2)).shape == (5, 7)
    with pytest.raises(ValueError):
        mlp_patterns(net, torch.zeros(5, 3))
    with pytest.raises(TypeError):
        mlp_patterns(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)), torch.zeros(1, 2))
    with pytest.raises(ValueError):
        relu_mlp([2])
    with pytest.raises(ValueError):
        relu_mlp([2, 3, 1], init="xavier")
    assert torch.equal(relu_mlp([2, 3, 1], seed=5)[0].weight, relu_mlp([2, 3, 1], seed=5)[0].weight)


def test_deep_tent_map_doubles_pieces():
    """Composition multiplies regions: counted through mlp_patterns + label_regions."""
    x = ((torch.arange(4000, dtype=torch.float64) + 0.37) / 4000)[:, None]
    for L in (1, 2, 3, 4):
        net = relu_mlp([1] + [2] * L + [1])
        with torch.no_grad():
            for k, lin in enumerate(m for m in net if isinstance(m, nn.Linear)):
                if k == 0:
                    lin.weight.copy_(torch.tensor([[1.0], [1.0]]))
                    lin.bias.copy_(torch.tensor([0.0, -0.5]))
                elif k < L:
                    lin.weight.copy_(torch.tensor([[2.0, -4.0], [2.0, -4.0]]))
                    lin.bias.copy_(torch.tensor([0.0, -0.5]))
        assert label_regions(mlp_patterns(net, x))[1] == 2 ** L


# ---- pictures and the explorer -------------------------------------------------------------
def test_plots_draw_and_check_shapes():
    grid = make_grid(1.0, (20, 30))
    theta, phi = random_shallow(3, seed=0)
    labels, _ = label_regions(mlp_patterns(shallow_module(theta, phi), grid.points))
    fig, (a, b, c) = plt.subplots(1, 3)
    plot_regions(a, labels, grid.extent, shape=grid.shape, theta=theta, title="t")
    with torch.no_grad():
        plot_output(b, shallow_module(theta, phi)(grid.points)[:, 0], grid.extent, shape=grid.shape)
    draw_network(c, (2, 3, 1))
    with pytest.raises(ValueError):
        plot_regions(a, labels, grid.extent, shape=(20, 20))
    with pytest.raises(ValueError):
        draw_network(c, (2, 9, 1))
    plt.close(fig)


def test_explorer_updates_fast_and_counts():
    app = regions_explorer()
    assert app.state.error is None and app.state.data["n_regions"] == 7
    times = []
    for depth, angle in [(1, 30), (2, 40), (3, 50), (4, 60)]:
        start = time.process_time()
        state = app.update(depth=depth, angle1=angle)
        times.append(time.process_time() - start)
        assert state.error is None and state.png[:4] == b"\x89PNG"
    assert min(times) < 0.25  # about 50 ms of CPU on the course machine; generous for loaded CI
    app.update(depth=1, angle1=0, angle2=0, angle3=0, offset1=-0.5, offset2=0.0, offset3=0.5)
    assert app.state.data["n_regions"] == 4  # three parallel lines
    data = explorer_data([0.0, 1.0, 2.0], [0.1, 0.2, 0.3], depth=2)
    assert data["labels"].shape == data["output"].shape == (121, 121)


# ---- neural fields -------------------------------------------------------------------------
def test_field_image_and_coordinates():
    img = load_field_image(32)
    assert img.shape == (32, 32) and img.dtype == torch.float32 and 0 <= float(img.min()) <= float(img.max()) <= 1
    c = pixel_coordinates(3, 4)
    assert c.shape == (12, 2) and c[0].tolist() == [0.0, 0.0] and c[-1].tolist() == [1.0, 1.0]
    assert c[1].tolist() == pytest.approx([1 / 3, 0.0])
    with pytest.raises(ValueError):
        load_field_image(4)
    with pytest.raises(ValueError):
        pixel_coordinates(1, 5)


def test_fourier_features_shape_and_values():
    enc = RandomFourierFeatures(2, 8, scale=3.0, seed=0)
    x = torch.rand(5, 2)
    out = enc(x)
    assert out.shape == (5, 16) and enc.out_features == 16
    angle = 2 * math.pi * x @ enc.B.T
    assert torch.allclose(out, torch.cat([torch.cos(angle), torch.sin(angle)], dim=1))
    assert not any(p.requires_grad for p in enc.parameters())
    with pytest.raises(ValueError):
        enc(torch.rand(5, 3))
    with pytest.raises(ValueError):
        RandomFourierFeatures(2, 8, scale=0.0)


def test_fit_full_batch_learns_and_rejects_bad_input():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64)[:, None]
    y = 2 * x + 1
    net = field_mlp(None, width=16, depth=1, in_features=1, seed=0)
    result = fit_full_batch(net, x, y, steps=200, lr=1e-2, progress=False)
    assert len(result["losses"]) == 200 and result["final_mse"] < 0.01
    assert result["prediction"].shape == (64, 1)
    with pytest.raises(ValueError):
        fit_full_batch(net, x, y[:10], steps=5)
    with pytest.raises(ValueError):
        fit_full_batch(net, x, y, steps=0)
    with pytest.raises(ValueError):
        field_mlp(None, activation="gelu")


def test_psnr():
    assert psnr(0.01) == pytest.approx(20.0)
    assert psnr(0.0) == float("inf")
    with pytest.raises(ValueError):
        psnr(-1.0)
    assert np.isfinite(psnr(1.0))
