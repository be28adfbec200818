"""Tests for course_utils.regularization: the over-fitting runner, early stopping (MC dropout is an exercise of 06)."""
from __future__ import annotations

import math

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from course_utils.data import load_digits  # noqa: E402
from course_utils.regularization import (  # noqa: E402
    BestWeights,
    format_table,
    plot_run,
    run_grid,
    small_train_split,
    train_run,
)
from course_utils.training import History  # noqa: E402


@pytest.fixture(scope="module")
def split():
    return small_train_split(*load_digits(flatten=True), n_train=60, seed=0)


def test_small_train_split_shrinks_only_the_training_part(split):
    assert split.x_train.shape == (60, 64) and split.y_train.shape == (60,)
    assert len(split.x_val) == 270 and len(split.x_test) == 269
    with pytest.raises(ValueError):
        small_train_split(*load_digits(flatten=True), n_train=0)


def _history(val_losses):
    h = History()
    for i, v in enumerate(val_losses, 1):
        h.epoch.append(i)
        h.val_loss.append(v)
    return h


def test_best_weights_stops_after_patience_and_restores_a_copy_of_the_best():
    model = nn.Linear(2, 1)
    stopper = BestWeights(model, patience=2)
    losses = [1.0, 0.5, 0.6, 0.7]
    stops = []
    for epoch in range(1, len(losses) + 1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))  # in place, like an optimiser
        stops.append(stopper(epoch, _history(losses[:epoch])))
    assert stops == [False, False, False, True]
    assert stopper.best_epoch == 2 and stopper.best_loss == 0.5 and stopper.stopped_epoch == 4
    stopper.restore()
    assert torch.all(model.weight == 2.0)


def test_best_weights_min_delta_and_bad_arguments():
    model = nn.Linear(2, 1)
    stopper = BestWeights(model, patience=2, min_delta=0.1)
    assert not stopper(1, _history([1.0]))
    assert not stopper(2, _history([1.0, 0.95]))
    assert stopper(3, _history([1.0, 0.95, 0.92]))
    assert stopper.best_epoch == 1
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError):
            BestWeights(model, patience=bad)
    with pytest.raises(ValueError):
        BestWeights(model, min_delta=-1)


def test_train_run_records_clean_curves_and_final_metrics(split):
    run = train_run(split, dropout=0.5, weight_decay=1e-3, epochs=4, width=32, device="cpu")
    curves = run.curves()
    assert curves["epoch"] == [1, 2, 3, 4]
    assert all(len(v) == 4 for v in curves.values())
    for value in (run.train_acc, run.val_acc, run.test_acc):
        assert 0.0 <= value <= 1.0
    assert math.isclose(run.gap_acc, run.train_acc - run.val_acc)
    assert math.isclose(run.gap_loss, run.val_loss - run.train_loss)
    assert run.model is not None and run.best_epoch is None
    # the clean curve is the eval-mode training loss after the last epoch, i.e. the final train loss
    assert math.isclose(curves["clean_train_loss"][-1], run.train_loss, rel_tol=1e-6)


def test_train_run_is_reproducible_and_early_stopping_restores_the_best_epoch(split):
    a = train_run(split, epochs=3, width=32, device="cpu")
    b = train_run(split, epochs=3, width=32, device="cpu")
    assert a.history.val_loss == b.history.val_loss
    run = train_run(split, epochs=40, width=64, lr=0.2, patience=3, device="cpu")
    assert run.best_epoch is not None and 1 <= run.best_epoch <= len(run.history.epoch)
    assert math.isclose(run.val_loss, min(run.history.val_loss), rel_tol=1e-5)


def test_run_grid_keys_and_table(split):
    grid = run_grid(split, dropouts=(0, 0.5), weight_decays=(0, 1e-2), epochs=2, width=16, progress=False,
                    device="cpu")
    assert list(grid) == [(0.0, 0.0), (0.0, 0.01), (0.5, 0.0), (0.5, 0.01)]
    text = format_table({"none": grid[(0.0, 0.0)], "dropout": grid[(0.5, 0.0)]})
    assert "none" in text and "dropout" in text and "test acc" in text
    fig = plot_run(grid[(0.5, 0.0)], reference=grid[(0.0, 0.0)], title="t")
    assert len(fig.axes) == 2
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert any("dropout on" in label for label in labels)
