"""Tests for course_utils.training: the loop learns, records what it claims, and fails clearly."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.training import History, accuracy, evaluate, fit, layer_grad_norms, predict


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def blobs(n=240, seed=0):
    """Two well-separated Gaussian blobs: X (n, 2) float32, y (n,) int64 in {0, 1}."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None] * 2 - 1) * 1.5
    return X, y


def mlp(seed=0, widths=(2, 16, 16, 2)):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def split(X, y, n_train=160):
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def test_fit_learns_a_separable_problem_and_loss_decreases():
    train, val = split(*blobs())
    history = fit(mlp(), train, val, epochs=8, lr=0.1, batch_size=32, progress=False, device="cpu")
    assert history.final("val_acc") >= 0.95
    assert history.final("train_acc") >= 0.95
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_loss[-1] < history.val_loss[0]
    assert not history.diverged and history.message == ""


def test_history_lengths_match_epochs():
    train, val = split(*blobs())
    history = fit(mlp(), train, val, epochs=4, lr=0.1, batch_size=32, progress=False, device="cpu")
    assert history.epoch == [1, 2, 3, 4]
    for name in ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds"):
        assert len(getattr(history, name)) == 4, name
    assert len(history.step_loss) == 4 * math.ceil(160 / 32)
    assert all(values and len(values) == 4 for values in history.grad_norms.values())
    assert history.lr == [0.1] * 4
    assert all(s > 0 for s in history.seconds)
    assert set(history.as_dict()) >= {"epoch", "train_loss", "step_loss", "grad_norms", "diverged"}


def test_grad_norms_are_the_linear_layers_in_order_and_positive():
    train, _ = split(*blobs())
    model = mlp(widths=(2, 8, 8, 8, 2))  # Linear at indices 0, 2, 4, 6
    history = fit(model, train, epochs=2, lr=0.1, progress=False, device="cpu")
    assert list(history.grad_norms) == ["0", "2", "4", "6"]
    for values in history.grad_norms.values():
        assert all(math.isfinite(v) and v > 0 for v in values)


def test_layer_grad_norms_matches_manual_norms_and_skips_missing_grads():
    model = mlp()
    assert layer_grad_norms(model) == {}  # no backward yet
    model[0].weight.requires_grad_(False)
    X, y = blobs(16)
    nn.functional.cross_entropy(model(X), y).backward()
    norms = layer_grad_norms(model)
    assert list(norms) == ["2", "4"]
    assert norms["4"] == pytest.approx(model[4].weight.grad.norm().item())


def test_same_seed_gives_the_same_history_and_another_seed_does_not():
    train, val = split(*blobs())

    def run(seed):
        return fit(mlp(), train, val, epochs=3, lr=0.1, batch_size=16, seed=seed, progress=False, device="cpu")

    first, again, other = run(1), run(1), run(2)
    first_d, again_d = first.as_dict(), again.as_dict()
    for d in (first_d, again_d):
        d.pop("seconds")
    assert first_d == again_d
    assert first.step_loss != other.step_loss  # the seed really controls the shuffling


def test_huge_learning_rate_stops_with_a_message_instead_of_crashing(capsys):
    x = torch.linspace(-1, 1, 64)[:, None]
    torch.manual_seed(0)
    history = fit(nn.Linear(1, 1), (x, 3 * x), epochs=50, lr=100.0, progress=False, device="cpu")
    assert history.diverged
    assert len(history.epoch) < 50
    assert not math.isfinite(history.step_loss[-1])
    assert "learning rate" in history.message
    assert "initial weights" in history.message  # both causes are named (notebook 02's 2 x He run)
    assert "Training stopped" in capsys.readouterr().out
    assert all(math.isfinite(x) for x in history.step_loss[:-1])


def test_dataloader_input_works_for_train_and_val():
    X, y = blobs()
    loader = DataLoader(TensorDataset(X[:160], y[:160]), batch_size=20, shuffle=True)
    val_loader = DataLoader(TensorDataset(X[160:], y[160:]), batch_size=50)
    history = fit(mlp(), loader, val_loader, epochs=5, lr=0.1, progress=False, device="cpu")
    assert len(history.step_loss) == 5 * 8
    assert history.final("val_acc") >= 0.95
    loss, acc = evaluate(mlp(), val_loader)
    assert math.isfinite(loss) and 0 <= acc <= 1


def test_regression_uses_mse_and_reports_no_accuracy():
    x = torch.linspace(-1, 1, 64)[:, None]
    y = 3 * x[:, 0] - 1  # shape (N,) against model output (N, 1): matched, not broadcast
    torch.manual_seed(0)
    history = fit(nn.Linear(1, 1), (x, y), epochs=30, lr=0.3, batch_size=16, progress=True, device="cpu")
    assert history.final("train_loss") < 1e-2
    assert all(math.isnan(a) for a in history.train_acc + history.val_acc)
    assert list(history.grad_norms) == ["weight"]
    loss, acc = evaluate(nn.Linear(1, 1), (x, y))
    assert math.isfinite(loss) and math.isnan(acc)


def test_adam_an_optimizer_instance_and_a_stopping_callback():
    train, val = split(*blobs())
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []
    history = fit(model, train, val, epochs=10, optimizer=opt, progress=False, device="cpu",
                  callback=lambda epoch, h: seen.append(epoch) or epoch == 3)
    assert seen == [1, 2, 3] and history.epoch == [1, 2, 3]
    assert history.lr == [0.05] * 3  # the instance's lr, not fit's default
    assert "callback" in history.message
    history = fit(mlp(), train, val, epochs=3, optimizer="adam", lr=1e-2, progress=False, device="cpu")
    assert history.final("val_acc") >= 0.9


@pytest.mark.parametrize("kwargs, match", [
    (dict(train=(torch.zeros(10, 2), torch.zeros(9, dtype=torch.long))), "same number of samples"),
    (dict(optimizer="rmsprop"), "optimizer must be one of"),
    (dict(epochs=0), "epochs"),
    (dict(epochs=2.5), "epochs"),
    (dict(lr=-0.1), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(batch_size=0), "batch_size"),
    (dict(optimizer="adam", momentum=0.9), "momentum"),
    (dict(momentum=1.5), "momentum"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    args = dict(train=blobs(20), epochs=1, progress=False, device="cpu")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fit(mlp(), args.pop("train"), **args)


def test_bad_data_and_model_types():
    with pytest.raises(TypeError, match="DataLoader"):
        fit(mlp(), torch.zeros(10, 2), epochs=1, progress=False)
    with pytest.raises(ValueError, match="trainable parameters"):
        fit(nn.ReLU(), blobs(10), epochs=1, progress=False)


def test_accuracy_counts_argmax_and_binary_logits():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 1])) == 0.75
    assert accuracy(torch.tensor([-1.0, 2.0]), torch.tensor([0, 1])) == 1.0
    assert accuracy(torch.tensor([[-1.0], [2.0]]), torch.tensor([1, 1])) == 0.5
    with pytest.raises(ValueError, match="shape"):
        accuracy(logits, torch.tensor([0, 1]))


def test_evaluate_and_predict_use_eval_mode_and_restore_it():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.Dropout(0.5), nn.Linear(32, 2))
    X, y = blobs(50)
    out1, out2 = predict(model, X, batch_size=7), predict(model, X)
    assert out1.shape == (50, 2) and torch.allclose(out1, out2)  # dropout off, batching irrelevant
    assert model.training
    evaluate(model, (X, y))
    assert model.training


def test_history_final_and_plot():
    history = History()
    with pytest.raises(ValueError, match="empty"):
        history.final("train_loss")
    with pytest.raises(ValueError, match="choose one of"):
        history.final("loss")
    import matplotlib.pyplot as plt

    train, val = split(*blobs())
    history = fit(mlp(), train, val, epochs=2, lr=0.1, progress=False, device="cpu")
    fig = history.plot()
    try:
        assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy", "gradient norm (weights)"]
        assert fig.axes[2].get_yscale() == "log"
        assert len(fig.axes[2].get_lines()) == len(history.grad_norms)
    finally:
        plt.close(fig)
