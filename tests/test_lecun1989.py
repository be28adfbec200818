"""Unit tests of course_utils.lecun1989 (notebook 10's network, data, training and shipped ablation)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import lecun1989 as L

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parent.parent


def cyclic_mask() -> torch.Tensor:
    """A valid table that is not the lesson's: H2 map o reads H1 maps o, o+1, ..., o+7 (mod 12)."""
    table = torch.zeros((12, 12)).bool()
    for o in range(12):
        table[o, [(o + j) % 12 for j in range(8)]] = True
    return table


@pytest.fixture(scope="module")
def data():
    return L.load_digits_1989(n_test=500, seed=0)


def tiny(data, n=24):
    return L.Data1989(data.x_train[:n], data.y_train[:n], data.x_test[:50], data.y_test[:50], "tiny")


def reference_forward(net: L.Net1989, x: torch.Tensor, k: int = 0) -> torch.Tensor:
    """The network written with F.conv2d, for copy k: x (B, 1, 16, 16) -> logits (B, 10)."""
    act = torch.relu if net.activations[k] == "relu" else torch.tanh
    h = F.pad(x, (2, 2, 2, 2), value=-1.0)
    h = act(F.conv2d(h, net.h1_w[k], stride=2) + net.h1_b[k])
    h = F.pad(h, (2, 2, 2, 2), value=-1.0)
    h = act(F.conv2d(h, net.h2_w[k] * net.mask[:, :, None, None], stride=2) + net.h2_b[k])
    h = act(h.flatten(1) @ net.h3_w[k] + net.h3_b[k])
    return h @ net.out_w[k] + net.out_b[k]


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
def test_digits_shapes_range_and_split(data):
    assert data.x_train.shape == (1297, 1, 16, 16) and data.x_test.shape == (500, 1, 16, 16)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert float(data.x_train.min()) == -1.0 and float(data.x_train.max()) <= 1.0
    counts = torch.bincount(data.y_test, minlength=10)
    assert counts.sum() == 500 and counts.min() >= 48 and counts.max() <= 52  # stratified
    again = L.load_digits_1989(n_test=500, seed=0)
    assert torch.equal(again.x_test, data.x_test)
    other = L.load_digits_1989(n_test=500, seed=1)
    assert not torch.equal(other.y_test, data.y_test)
    # every one of the 1,797 images is in exactly one of the two sets
    from course_utils.data import load_digits

    x_all, _ = load_digits(size=16)
    both = torch.cat([data.x_train, data.x_test]).flatten(1)
    key = lambda t: sorted(map(tuple, t.round(decimals=4).tolist()))  # noqa: E731
    assert key(both) == key((x_all * 2 - 1).flatten(1))


@pytest.mark.parametrize("bad", [0, 1797, -3, 2.5, True])
def test_digits_bad_n_test(bad):
    with pytest.raises(ValueError):
        L.load_digits_1989(n_test=bad)


def test_pm_one_targets():
    t = L.pm_one_targets(torch.tensor([2, 0]))
    assert t.shape == (2, 10) and t.dtype == torch.float32
    assert t[0, 2] == 1 and t[1, 0] == 1 and (t == 1).sum() == 2 and (t == -1).sum() == 18
    with pytest.raises(ValueError):
        L.pm_one_targets(torch.tensor([0.5]))
    with pytest.raises(ValueError):
        L.pm_one_targets(torch.tensor([10]))


def test_mnist_path_resizes_and_subsamples(monkeypatch):
    import course_utils.datasets_remote as remote

    def fake(name, split="train", **_):
        n = 100 if split == "train" else 40
        return torch.rand(n, 1, 28, 28), torch.arange(n) % 10

    monkeypatch.setattr(remote, "load_mnist", fake)
    d = L.load_mnist_1989(n_train=30, n_test=20, seed=0)
    assert d.x_train.shape == (30, 1, 16, 16) and d.x_test.shape == (20, 1, 16, 16)
    assert float(d.x_train.min()) >= -1 and float(d.x_train.max()) <= 1
    with pytest.raises(ValueError):
        L.load_mnist_1989(n_train=101)


# ----------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------
def test_forward_matches_conv2d_reference(data):
    net = L.Net1989(cyclic_mask(), n_models=3, activation=["tanh", "relu", "tanh"], init="sqrt", seed=[1, 2, 3])
    x = data.x_train[:7]
    out = net(x)
    assert out.shape == (7, 3, 10)
    for k in range(3):
        torch.testing.assert_close(out[:, k], reference_forward(net, x, k), atol=1e-5, rtol=1e-5)
    # each copy its own image
    own = net(data.x_train[:6, 0].reshape(2, 3, 16, 16))
    torch.testing.assert_close(own[1, 2], reference_forward(net, data.x_train[5:6], 2)[0], atol=1e-5, rtol=1e-5)


def test_copies_with_the_same_seed_start_equal_and_one_seed_gives_different_copies():
    same = L.Net1989(cyclic_mask(), n_models=2, seed=[4, 4])
    assert torch.equal(same.h1_w[0], same.h1_w[1])
    single = L.Net1989(cyclic_mask(), n_models=1, seed=4)
    assert torch.equal(single.h3_w[0], same.h3_w[0])
    diff = L.Net1989(cyclic_mask(), n_models=2, seed=4)
    assert not torch.equal(diff.h1_w[0], diff.h1_w[1])


@torch.no_grad()
def test_init_ranges():
    paper = L.Net1989(cyclic_mask(), init="paper")
    sqrt = L.Net1989(cyclic_mask(), init="sqrt")
    assert float(paper.h1_w.abs().max()) <= 2.4 / 25 and float(paper.h2_w.abs().max()) <= 2.4 / 200
    assert float(sqrt.h3_w.abs().max()) <= 2.4 / 192 ** 0.5 and float(sqrt.h3_w.abs().max()) > 2.4 / 192
    assert all(float(b.abs().max()) == 0 for n, b in sqrt.named_parameters() if n.endswith("_b"))


def test_masked_weights_get_no_gradient_and_counts(data):
    mask = cyclic_mask()
    net = L.Net1989(mask, init="sqrt")
    net(data.x_train[:4]).sum().backward()
    assert float(net.h2_w.grad[0][~mask].abs().max()) == 0.0
    assert float(net.h2_w.grad[0][mask].abs().max()) > 0.0
    assert net.used_parameters() == L.PAPER["parameters"]
    counts = L.count_connections(mask)
    assert sum(counts["every tap"].values()) == L.PAPER["connections"]
    assert sum(counts["real inputs only"].values()) == 51232
    full = L.count_connections(torch.ones(12, 12, dtype=torch.bool))
    assert full["every tap"]["H2"] == 192 * (12 * 25 + 1)


@pytest.mark.parametrize("mask, error", [(np.ones((12, 12)), TypeError), (torch.ones(12, 11), ValueError),
                                         (torch.full((12, 12), 0.5), ValueError)])
def test_bad_masks(mask, error):
    with pytest.raises(error):
        L.Net1989(mask)


@pytest.mark.parametrize("kwargs", [dict(activation="sigmoid"), dict(dropout=1.0), dict(init="xavier"),
                                    dict(n_models=0), dict(n_models=2, dropout=[0.1, 0.2, 0.3])])
def test_bad_network_arguments(kwargs):
    with pytest.raises(ValueError):
        L.Net1989(cyclic_mask(), **kwargs)


def test_bad_input_shape():
    net = L.Net1989(cyclic_mask(), n_models=2)
    with pytest.raises(ValueError, match="shape"):
        net(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="shape"):
        net(torch.zeros(1, 1, 28, 28))


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------
def test_lean_training_equals_the_autograd_bank(data):
    small = tiny(data)
    a = L.Net1989(cyclic_mask(), init="sqrt", seed=5)
    b = L.Net1989(cyclic_mask(), init="sqrt", seed=5)
    ha = L.train_1989(a, small, passes=2, seed=3, record_every=8, progress=False)
    hb = L.train_bank(b, small, passes=2, seeds=3, record_every=8, eval_train=True, progress=False)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        if name == "h2_w":  # only the entries the mask keeps are weights
            pa, pb = pa * a.mask[:, :, None, None], pb * b.mask[:, :, None, None]
        torch.testing.assert_close(pa.detach(), pb.detach(), atol=2e-5, rtol=1e-4, msg=name)
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ha.test_error, hb.test_error)
    assert ha.test_error.shape == (1, 3) and ha.train_error.shape == (1, 3) and ha.loss.shape == (1, 6)


def test_lean_training_learns(data):
    net = L.Net1989(cyclic_mask(), init="sqrt", seed=0)
    h = L.train_1989(net, tiny(data, 20), passes=30, progress=False)
    assert h.train_error[0, -1] == 0.0 and h.loss[0, -1] < h.loss[0, 0] / 5
    with pytest.raises(ValueError):
        L.train_1989(L.Net1989(cyclic_mask(), n_models=2), data, progress=False)


def test_bank_per_copy_learning_rates_equal_separate_runs(data):
    small = tiny(data)
    bank = L.Net1989(cyclic_mask(), n_models=2, init="sqrt", seed=[1, 1])
    hb = L.train_bank(bank, small, passes=1, lr=[0.01, 0.1], seeds=[2, 2], batch_size=4, progress=False)
    for k, lr in enumerate([0.01, 0.1]):
        one = L.Net1989(cyclic_mask(), init="sqrt", seed=1)
        h1 = L.train_bank(one, small, passes=1, lr=lr, seeds=2, batch_size=4, progress=False)
        torch.testing.assert_close(bank.h3_w[k], one.h3_w[0], atol=1e-5, rtol=1e-4)
        np.testing.assert_allclose(hb.test_error[k], h1.test_error[0])


def test_bank_modern_settings_run_and_record(data):
    small = tiny(data, 40)

    def shift(x, shifts, fill):  # torch.roll WRAPS AROUND (not the lesson's shift): enough to drive train_bank
        return torch.stack([torch.roll(image, tuple(s), dims=(-2, -1)) for image, s in zip(x, shifts.tolist())])

    net = L.Net1989(cyclic_mask(), n_models=3, activation=["tanh", "relu", "relu"], dropout=[0.0, 0.25, 0.0],
                    init="sqrt", seed=[0, 0, 0])
    h = L.train_bank(net, small, passes=2, optimizer="adamw", cross_entropy=[False, True, True],
                     shifts=[True, False, True], shift_fn=shift, seeds=[0, 1, 2], record_every=10, grad_abs=True,
                     eval_train=True, progress=False)
    assert h.test_error.shape == (3, 3) and h.train_error.shape == (3, 3)
    assert h.loss.shape == (3, 8) and h.grad_abs.shape == (3, 8) and np.isfinite(h.loss).all()
    assert not net.training
    with pytest.raises(ValueError, match="shift_fn"):
        L.train_bank(net, small, shifts=True, progress=False)
    with pytest.raises(ValueError):
        L.train_bank(net, small, optimizer="adam", progress=False)
    with pytest.raises(ValueError):
        L.train_bank(net, small, optimizer="adamw", lr=[0.1, 0.1, 0.1], progress=False)
    with pytest.raises(ValueError):
        L.train_bank(net, small, batch_size=41, progress=False)


def test_max_steps_stops_early(data):
    net = L.Net1989(cyclic_mask(), init="sqrt")
    h = L.train_bank(net, tiny(data), passes=5, max_steps=10, record_every=5, progress=False)
    assert h.loss.shape == (1, 2) and h.test_error.shape == (1, 2)


# ----------------------------------------------------------------------------------------------
# shipped ablation, plots, widget
# ----------------------------------------------------------------------------------------------
def test_shipped_ablation_loads():
    ablation = L.load_ablation()
    runs, meta = ablation["runs"], ablation["meta"]
    assert "baseline" in runs and len(runs) >= 6
    assert meta["passes"] >= 1 and meta["n_test"] + meta["n_train"] == 1797
    for key, run in runs.items():
        assert L.setting_key(run["setting"]) == key
        assert run["test_error"].shape == (len(meta["seeds"]),)
        assert run["curves"].shape == (len(meta["seeds"]), meta["passes"] + 1)
        assert np.all((run["test_error"] >= 0) & (run["test_error"] <= 1))
    assert "h2_mask" not in meta  # the connection table is Exercise 1: it must not ship with the course
    # the paper's training: one example per update, 23 passes; each setting's rate chosen on validation data
    assert meta["batch_size"] == 1 and meta["passes"] == L.PAPER["passes"] and len(meta["seeds"]) >= 3
    assert meta["n_fit"] + meta["n_val"] == meta["n_train"]
    for key, run in runs.items():
        grid = meta["adamw_lrs"] if run["setting"].adamw else meta["sgd_lrs"]
        assert run["lr"] in grid and set(run["validation_error"]) == {str(lr) for lr in grid}
        assert run["validation_error"][str(run["lr"])] == min(run["validation_error"].values())


def test_load_ablation_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="lecun1989_ablation"):
        L.load_ablation(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"meta": {}, "runs": {"baseline+magic": {"test_error": [0.1], "curves": [[0.1]]}}}))
    with pytest.raises(ValueError, match="magic"):
        L.load_ablation(bad)


def test_settings_and_keys():
    assert L.setting_key(L.Setting()) == "baseline"
    assert L.setting_key(L.Setting(relu=True, cross_entropy=True)) == "cross_entropy+relu"
    assert L.Setting().label() == "1989 recipe"
    assert len(L.all_settings()) == 32 and len(set(L.all_settings())) == 32


def test_plots():
    ax = L.plot_ablation(["a", "b"], [0.05, 0.04], [0.01, 0.005], reference={"paper": 0.05}, highlight=1)
    assert len(ax.patches) == 2 and ax.get_xlabel() == "test error (%)"
    with pytest.raises(ValueError):
        L.plot_ablation(["a"], [0.05, 0.04], [0.01, 0.01])
    ax = L.plot_ilsvrc()
    assert len(ax.patches) == len(L.ILSVRC_TOP5)
    years = [r[0] for r in L.ILSVRC_TOP5]
    assert years == sorted(years) and L.ILSVRC_TOP5[2][0] == 2012


def test_ablation_explorer_updates():
    runs = L.load_ablation()["runs"]
    intervals = {k: (float(r["test_error"].mean()), 0.01) for k, r in runs.items()}
    app = L.ablation_explorer(runs, intervals, live_curve=runs["baseline"]["curves"][0])
    state = app.update(cross_entropy=True)
    assert state.error is None and state.data["key"] == "cross_entropy" and state.data["run"] is not None
    state = app.update(relu=True)  # cross-entropy + relu: not in the shipped grid
    assert state.error is None and state.data["run"] is None
    with pytest.raises(ValueError):
        L.ablation_explorer(runs, {})


def test_ablation_tool_quick(tmp_path):
    tool = REPO / "tools" / "lecun1989_ablation.py"
    if not tool.is_file():
        pytest.skip("the ablation tool is not part of this checkout")
    out = tmp_path / "quick.json"
    subprocess.run([sys.executable, str(tool), "--quick", "--out", str(out)], check=True, capture_output=True,
                   timeout=600, env={"COURSE_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    loaded = L.load_ablation(out)
    assert set(loaded["runs"]) >= {"baseline", "relu", "cross_entropy+adamw+shifts+dropout+relu"}


def test_ablation_lockstep_trainer_matches_autograd(data):
    """The ablation's hand-written per-example trainer takes the same steps as autograd (SGD and AdamW)."""
    tool = REPO / "tools" / "lecun1989_ablation.py"
    if not tool.is_file():
        pytest.skip("the ablation tool is not part of this checkout")
    sys.path.insert(0, str(tool.parent))
    try:
        import lecun1989_ablation as A
    finally:
        sys.path.remove(str(tool.parent))
    relu, ce = [False, False, True, True], [False, True, False, True]
    for adamw in (False, True):
        lr = [1e-3] * 4 if adamw else [0.01, 0.03, 0.02, 0.005]
        net = L.Net1989(A.h2_mask(), n_models=4, init="sqrt", seed=[0, 1, 2, 3],
                        activation=["relu" if r else "tanh" for r in relu])
        lock = A.Lockstep(net, relu, ce, [0.0] * 4, [False] * 4, lr, adamw, seed=0)
        params = list(net.parameters())
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=L.ADAMW_WEIGHT_DECAY) if adamw else None
        for it in range(3):
            idx = torch.tensor([it, it + 5, it + 9, it + 11])
            x, y = data.x_train[idx], data.y_train[idx]
            lock.step(A.windows(x), y.numpy())
            out = net(x.transpose(0, 1))[0]
            mse = ((torch.tanh(out) - L.pm_one_targets(y)) ** 2).mean(1)
            loss = torch.where(torch.tensor(ce), F.cross_entropy(out, y, reduction="none"), mse).sum()
            net.zero_grad()
            loss.backward()
            with torch.no_grad():
                if adamw:
                    opt.step()
                else:
                    for p in params:
                        p -= torch.tensor(lr).view(4, *([1] * (p.ndim - 1))) * p.grad
        w1 = net.h1_w.detach().numpy().reshape(4, 12, 25).transpose(0, 2, 1)
        assert np.allclose(w1, lock.w["w1"], atol=1e-6)
        assert np.allclose(net.h3_w.detach().numpy(), lock.w["w3"], atol=1e-6)
        assert np.allclose(net.out_b.detach().numpy(), lock.w["b4"], atol=1e-6)
        got = lock.errors(A.windows(data.x_test[:100]), data.y_test[:100].numpy())
        assert np.allclose(got, L.error_rate(net, data.x_test[:100], data.y_test[:100]))
