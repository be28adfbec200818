"""Unit tests for course_utils.regions and course_utils.neural_fields (lesson 08)."""
from __future__ import annotations

import hashlib
import math
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import course_utils.neural_fields as neural_fields  # noqa: E402
import course_utils.regions as regions  # noqa: E402
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
    explorer_network,
    hinge_segment,
    lines_from_angles,
    make_grid,
    plot_output,
    plot_regions,
    random_shallow,
    region_map,
    regions_explorer,
    relu_mlp,
    review_network,
    tent_network,
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
def _hand_made(theta, phi):
    """What a student might build from theta and phi (the answer to exercises 1, 2 and 4 through modules)."""
    net = nn.Sequential(nn.Linear(theta.shape[1] - 1, len(theta)), nn.ReLU(), nn.Linear(len(theta), 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(theta[:, 1:])
        net[0].bias.copy_(theta[:, 0])
        net[2].weight.copy_(phi[None, 1:])
        net[2].bias.copy_(phi[:1])
    return net


def test_review_network_has_seven_regions_and_patterns_match():
    net = review_network()
    theta = torch.cat([net[0].bias[:, None], net[0].weight], dim=1).detach()
    assert theta.tolist() == [[0.25, 1.0, 0.5], [-0.25, -0.5, 1.0], [0.5, -0.75, -1.0]]
    grid = make_grid(2.0, 101)
    patterns, labels, n = region_map(net, grid.points)
    assert patterns.shape == (101 * 101, 3) and patterns.dtype == torch.bool
    assert torch.equal(patterns, (theta[:, 0] + grid.points @ theta[:, 1:].T) > 0)
    assert n == 7 and labels.shape == (101 * 101,) and int(labels.max()) == 6
    # equal labels exactly where equal patterns
    rows, inverse = torch.unique(patterns, dim=0, return_inverse=True)
    sub = torch.arange(0, len(labels), 37)
    assert torch.equal(labels[sub, None] == labels[None, sub], inverse[sub, None] == inverse[None, sub])


def test_region_map_wide_networks_and_zero_is_off():
    net = relu_mlp([3, 40, 40, 1], seed=2)                      # 80 hidden units: the slow path (> 62)
    x = torch.randn(300, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    patterns, labels, n = region_map(net, x)
    assert patterns.shape == (300, 80) and n == len(torch.unique(patterns, dim=0)) == int(labels.max()) + 1
    tent = tent_network(1)                                       # layer 1: (x, x - 1/2)
    assert region_map(tent, torch.tensor([[0.0], [0.25], [0.5]])).patterns.tolist() == [
        [False, False], [True, False], [True, False]]            # z = 0 counts as off


def test_relu_mlp_and_region_map_shapes_and_errors():
    net = relu_mlp([2, 4, 3, 1], seed=0)
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert region_map(net, torch.zeros(5, 2)).patterns.shape == (5, 7)
    with pytest.raises(ValueError):
        region_map(net, torch.zeros(5, 3))
    with pytest.raises(ValueError):
        relu_mlp([2])
    with pytest.raises(ValueError):
        relu_mlp([2, 3, 1], init="xavier")
    assert torch.equal(relu_mlp([2, 3, 1], seed=5)[0].weight, relu_mlp([2, 3, 1], seed=5)[0].weight)


def test_deep_tent_map_doubles_pieces():
    """Composition multiplies regions: 2**L pieces from L layers of 2 units."""
    x = ((torch.arange(4000, dtype=torch.float64) + 0.37) / 4000)[:, None]
    for L in (1, 2, 3, 4):
        net = tent_network(L)
        assert region_map(net, x).count == 2 ** L
        with torch.no_grad():
            y = net(x)[:, 0]
        t = x[:, 0]
        for _ in range(L):
            t = 2 * torch.relu(t) - 4 * torch.relu(t - 0.5)
        assert torch.allclose(y, t)


def test_region_map_follows_training_but_refuses_hand_set_weights():
    net = relu_mlp([2, 5, 1], seed=0)
    x = torch.rand(50, 2, dtype=torch.float64)
    fit_full_batch(net, x, x[:, :1] ** 2, steps=3, lr=1e-2, progress=False)
    assert region_map(net, x).patterns.shape == (50, 5)         # trained by fit_full_batch: still ours
    with torch.no_grad():
        net[0].weight.add_(1.0)
    with pytest.raises(TypeError, match="by hand"):
        region_map(net, x)
    fit_full_batch(net, x, x[:, :1], steps=2, lr=1e-2, progress=False)   # training does not launder it
    with pytest.raises(TypeError, match="by hand"):
        region_map(net, x)
    theta, phi = random_shallow(3, seed=1)
    for foreign in (_hand_made(theta, phi), nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)), "net"):
        with pytest.raises(TypeError):
            region_map(foreign, x)
    built = relu_mlp([2, 3, 1], seed=0)
    built[0] = nn.Linear(2, 3).double()                         # a layer swapped in
    with pytest.raises(TypeError):
        region_map(built, x)
    # the explorer's network has a hand-set first layer: refused outside the explorer
    with pytest.raises(TypeError):
        region_map(explorer_network([0.0, 1.0, 2.0], [0.1, 0.2, 0.3]), x)
    with pytest.raises(ValueError):
        explorer_network([0.0, 1.0], [0.1, 0.2])                # exactly three lines


def _fingerprint(value) -> str:
    """A short hash of a tensor's shape, kind and values (rounded to 6 decimals)."""
    t = torch.as_tensor(value).detach().cpu()
    data = t.numpy().tobytes() if t.dtype == torch.bool else (np.round(t.double().numpy(), 6) + 0.0).tobytes()
    return hashlib.sha256(str(tuple(t.shape)).encode() + str(t.dtype == torch.bool).encode() + data).hexdigest()[:16]


# The answers of lesson 08's exercises 1 (forward pass), 2 (activation pattern) and 4 (region count) for the two
# inputs of the test below, as fingerprints and counts: computed once by the instructor, so that this file (which
# students receive) holds no code that solves the exercises.
_ANSWERS = [("4ae34d3da4e6cc0c", "9c7956901eae374e", 9), ("0ee73d2cba5c98dd", "77a2740bd1fdf407", 41)]


def _solves(value, answer, exercise: int) -> bool:
    """Whether a returned value (or anything inside a returned tuple/dict) is an exercise's answer."""
    if isinstance(value, dict):
        return any(_solves(v, answer, exercise) for v in value.values())
    if isinstance(value, (tuple, list)) and exercise != 4:
        return any(_solves(v, answer, exercise) for v in value)
    if exercise == 4:
        return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and int(value) == answer
    if isinstance(value, nn.Module) or not isinstance(value, (torch.Tensor, np.ndarray)):
        return False
    try:
        return _fingerprint(value) == answer
    except (TypeError, ValueError, RuntimeError):
        return False


def test_course_utils_does_not_solve_lesson_08_exercises():
    """No function of course_utils.regions / neural_fields (public or private), called with an exercise's
    inputs -- or with a network built from them by hand -- returns the answer of exercise 1, 2 or 4."""
    g = torch.Generator().manual_seed(8)
    cases = []
    for (n, di, d), answers in zip([(400, 2, 5), (300, 3, 7)], _ANSWERS):
        x = torch.randn(n, di, generator=g, dtype=torch.float64)
        theta = torch.randn(d, di + 1, generator=g, dtype=torch.float64)
        phi = torch.randn(d + 1, generator=g, dtype=torch.float64)
        cases.append((x, theta, phi, answers))
    functions = [(name, f) for module in (regions, neural_fields) for name, f in vars(module).items()
                 if callable(f) and getattr(f, "__module__", "") == module.__name__ and not isinstance(f, type)]
    assert len(functions) > 15
    solved = []
    for name, f in functions:
        hits = [0, 0, 0]
        for x, theta, phi, answers in cases:
            net = _hand_made(theta, phi)
            for args in [(x, theta, phi), (x, theta), (theta, x), (theta, phi, x), (net, x), (net,)]:
                try:
                    with torch.no_grad():
                        value = f(*args)
                except Exception:  # noqa: BLE001 -- refusing is the point
                    continue
                for i, (answer, exercise) in enumerate(zip(answers, (1, 2, 4))):
                    hits[i] += _solves(value, answer, exercise)
        solved += [f"{name} -> exercise {(1, 2, 4)[i]}" for i in range(3) if hits[i] >= len(cases)]
    assert not solved, f"course_utils solves lesson 08's exercises: {solved}"


def test_the_answer_fingerprints_detect_an_answer():
    """The check above can see an answer: the hand-made network's output has the fingerprint of exercise 1's."""
    g = torch.Generator().manual_seed(8)
    x = torch.randn(400, 2, generator=g, dtype=torch.float64)
    theta = torch.randn(5, 3, generator=g, dtype=torch.float64)
    phi = torch.randn(6, generator=g, dtype=torch.float64)
    with torch.no_grad():
        assert _solves(_hand_made(theta, phi)(x)[:, 0], _ANSWERS[0][0], 1)
        assert not _solves(_hand_made(theta, -phi)(x)[:, 0], _ANSWERS[0][0], 1)


# ---- pictures and the explorer -------------------------------------------------------------
def test_plots_draw_and_check_shapes():
    grid = make_grid(1.0, (20, 30))
    net = relu_mlp([2, 3, 1], seed=0)
    theta = torch.cat([net[0].bias[:, None], net[0].weight], dim=1).detach()
    labels = region_map(net, grid.points).labels
    fig, (a, b, c) = plt.subplots(1, 3)
    plot_regions(a, labels, grid.extent, shape=grid.shape, theta=theta, title="t")
    with torch.no_grad():
        plot_output(b, net(grid.points)[:, 0], grid.extent, shape=grid.shape)
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
