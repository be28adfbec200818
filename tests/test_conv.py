"""Unit tests for course_utils.conv: arithmetic against torch, the explorer app, receptive fields, LeNet."""
from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from course_utils.conv import (  # noqa: E402
    conv_arithmetic,
    conv_explorer,
    count_parameters,
    draw_receptive_field,
    effective_kernel,
    explorer_data,
    kernel_positions,
    layer_table,
    make_lenet,
    receptive_field_layout,
    translate,
)


def test_conv_arithmetic_matches_torch_and_flags_invalid():
    for W1, k, p, s, d in itertools.product(range(1, 12), range(1, 5), range(3), range(1, 4), range(1, 3)):
        a = conv_arithmetic(W1, k, p, s, d)
        assert a.effective_kernel == effective_kernel(k, d) == d * (k - 1) + 1
        if W1 + 2 * p < a.effective_kernel:
            assert not a.valid and a.size == 0 and "does not fit" in a.message
            continue
        torch_size = F.conv2d(torch.empty(1, 1, W1, W1, device="meta"), torch.empty(1, 1, k, k, device="meta"),
                              stride=s, padding=p, dilation=d).shape[-1]
        assert a.size == torch_size
        assert a.valid == ((W1 + 2 * p - a.effective_kernel) % s == 0)
        assert a.exact == pytest.approx((W1 - a.effective_kernel + 2 * p) / s + 1)
        if not a.valid:
            assert "not a whole number" in a.message and f"rounds down to {torch_size}" in a.message
        assert len(kernel_positions(W1, k, p, s, d)) == torch_size


def test_conv_arithmetic_rejects_bad_arguments():
    for args in [(0, 3), (5, 0), (5, 3, -1), (5, 3, 0, 0), (5, 3, 0, 1, 0), (5.0, 3)]:
        with pytest.raises(ValueError):
            conv_arithmetic(*args)


def test_explorer_data_positions_and_unread_cells():
    data = explorer_data(W1=7, F=3, P=0, S=3, D=1, step=3)
    assert data["W2"] == 2 and data["n_steps"] == 4 and (data["row"], data["col"]) == (1, 1)
    assert sorted(data["taps"]) == [(r, c) for r in range(3, 6) for c in range(3, 6)]
    assert not data["arith"].valid
    assert not data["used"][:, 6].any() and not data["used"][6].any() and data["used"][:6, :6].all()
    dilated = explorer_data(W1=9, F=3, P=0, S=1, D=2, step=0)
    assert sorted(dilated["taps"]) == [(r, c) for r in (0, 2, 4) for c in (0, 2, 4)]
    empty = explorer_data(W1=3, F=7, P=0, S=1)  # kernel larger than the input: described, not raised
    assert empty["n_steps"] == 0 and empty["row"] is None and not empty["arith"].valid


def test_explorer_app_dependent_bounds_and_play_control():
    app = conv_explorer(W1=7, F=3, P=1, S=2)
    try:
        assert app.state.error is None and app.state.png
        assert app.controls["step"].max == 15  # 4 x 4 outputs
        state = app.update(S=3)
        assert state.error is None and state.data["arith"].valid and app.controls["step"].max == 8
        state = app.update(P=0)
        assert not state.data["arith"].valid and state.error is None  # flagged, not crashed
        app.update(W1=3)
        assert app.controls["F"].max == 3 and app.controls["F"].value == 3  # the kernel still fits
        app.update(W1=9, P=0, F=3, S=1)
        assert app.controls["D"].max == 3
        state = app.update(D=3)
        assert app.controls["F"].max == 3 and state.data["W2"] == 3
        state = app.update(step=5)
        assert (state.data["row"], state.data["col"]) == (1, 2) and state.error is None
        with pytest.raises(ValueError):
            app.update(step=99)
    finally:
        plt.close("all")


def test_receptive_field_layout_formula_and_backprop():
    stacks = [[(3, 1)], [(3, 1)] * 3, [(3, 1), (3, 1), (2, 2), (3, 1)], [(5, 1), (2, 2), (5, 1), (2, 2)],
              [(3, 2), (3, 2), (3, 2)], [(3, 1, 2), (3, 1, 4)]]
    expected = [3, 7, 10, 16, 15, 13]
    for stack, rf in zip(stacks, expected):
        layout = receptive_field_layout(stack)
        assert layout["receptive_field"] == rf
        assert len(layout["sizes"]) == len(stack) + 1 and layout["sizes"][-1] == 3
        # the followed unit's input window, measured by backprop through real 1-D layers with unit weights
        layers = []
        for spec in stack:
            k, s = spec[:2]
            layer = nn.Conv1d(1, 1, k, stride=s, dilation=spec[2] if len(spec) > 2 else 1, bias=False)
            nn.init.constant_(layer.weight, 1.0)
            layers.append(layer)
        x = torch.ones(1, 1, layout["sizes"][0], requires_grad=True)
        out = nn.Sequential(*layers)(x)
        assert out.shape[-1] == layout["sizes"][-1]
        out[0, 0, 1].backward()
        assert x.grad[0, 0].nonzero().flatten().tolist() == layout["active"][0]
    with pytest.raises(ValueError):
        receptive_field_layout([])
    ax = draw_receptive_field([(3, 1), (2, 2)])
    assert "4 input pixels" in ax.get_title()
    plt.close("all")


@pytest.mark.parametrize("size, params", [(16, 21386), (28, 61706), (32, 61706)])
def test_make_lenet_shapes_and_parameters(size, params):
    net = make_lenet(size, seed=0)
    assert count_parameters(net) == params
    rows = layer_table(net, (1, size, size))
    shapes = {row["name"]: row["output_shape"] for row in rows}
    assert shapes["output"] == (10,)
    if size >= 28:
        assert shapes["C1"] == (6, 28, 28) and shapes["S4"] == (16, 5, 5)
    assert sum(row["params"] for row in rows) == params
    assert torch.equal(make_lenet(size, seed=0).C1.weight, net.C1.weight)
    with pytest.raises(ValueError):
        make_lenet(size, activation="gelu")


def test_translate():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    moved = translate(x, 1, -1)
    assert moved[0, 0, 0].eq(0).all() and moved[0, 0, :, 3].eq(0).all()
    assert torch.equal(moved[0, 0, 1:, :3], x[0, 0, :3, 1:])
    assert torch.equal(translate(translate(x, 2, 1), -2, -1)[0, 0, :2, :3], x[0, 0, :2, :3])
    assert translate(x, 5, 0).eq(0).all()
    assert torch.equal(translate(x, 0, 0), x) and translate(x, 0, 0) is not x
