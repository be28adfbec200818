"""Regularisation experiments: one over-fitting set-up, trained with or without L2, dropout and
early stopping, and a grid of such runs for a widget.

The set-up the lesson studies is a wide MLP (:func:`course_utils.nets.make_mlp`) trained on a
*small* subset of the handwritten digits, so it can memorise its training set. :func:`train_run`
trains one configuration with :func:`course_utils.training.fit` and records what the lesson
looks at; :func:`run_grid` trains every (dropout, weight decay) pair of a grid::

    from course_utils.data import load_digits, train_val_test_split
    from course_utils.regularization import small_train_split, train_run, run_grid
    split = small_train_split(*load_digits(flatten=True), n_train=150, seed=0)
    run = train_run(split, dropout=0.5, weight_decay=1e-2, epochs=100)
    run.test_acc, run.gap_acc            # test accuracy, train - validation accuracy
    grid = run_grid(split, dropouts=(0, 0.5), weight_decays=(0, 1e-2), epochs=100)

:class:`BestWeights` is a ``fit`` callback that stops training after ``patience`` epochs
without improvement of the validation loss and restores the best weights (early stopping).
MC dropout is an exercise of notebook 06 (the lesson uses the student's own `mc_dropout_predict`).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from course_utils.data import Split, train_val_test_split
from course_utils.nets import make_mlp
from course_utils.training import History, evaluate, fit

__all__ = ["small_train_split", "BestWeights", "Run", "train_run", "run_grid",
           "format_table", "plot_run"]


def small_train_split(X, y, n_train: int = 150, seed: int = 0, fractions=(0.7, 0.15, 0.15)) -> Split:
    """A stratified train/val/test split whose training part keeps only ``n_train`` examples.

    Validation and test parts are the full ones of :func:`train_val_test_split`; only the training
    part shrinks (its first ``n_train`` rows, which are already in random order), so the network
    has few examples to learn from and much data to be judged on.
    """
    split = train_val_test_split(X, y, fractions=fractions, seed=seed)
    if not 1 <= n_train <= len(split.x_train):
        raise ValueError(f"n_train must be in [1, {len(split.x_train)}], got {n_train}")
    return split._replace(x_train=split.x_train[:n_train], y_train=split.y_train[:n_train])


class BestWeights:
    """Early stopping as a :func:`course_utils.training.fit` callback, restoring the best weights.

    After every epoch it reads ``history.val_loss[-1]``. A loss below ``best - min_delta`` is an
    improvement: the model's weights are *copied* (a deep copy of the state dict, not references to
    the live tensors) and the counter resets. Otherwise the counter grows; when it reaches
    ``patience``, the callback returns True and ``fit`` stops. Call :meth:`restore` afterwards.

    Attributes:
        best_loss, best_epoch: the best validation loss seen and its epoch (1-based).
        stopped_epoch: the epoch training stopped at, or None if it ran to the end.
    """

    def __init__(self, model: nn.Module, patience: int = 10, min_delta: float = 0.0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {patience!r}")
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.model, self.patience, self.min_delta = model, patience, float(min_delta)
        self.best_loss, self.best_epoch, self.stopped_epoch = math.inf, 0, None
        self.counter = 0
        self._best_state = None

    def __call__(self, epoch: int, history: History) -> bool:
        loss = history.val_loss[-1]
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.counter = loss, epoch, 0
            self._best_state = copy.deepcopy(self.model.state_dict())
            return False
        self.counter += 1
        if self.counter >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def restore(self) -> None:
        """Load the best weights seen into the model (no-op before the first epoch)."""
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)


@dataclass
class Run:
    """One trained configuration (see :func:`train_run`).

    ``history`` is fit's record: its ``train_loss``/``train_acc`` are measured *with dropout on*,
    while the weights change. ``clean_train_loss``/``clean_train_acc`` are the training set
    re-evaluated after each epoch in eval mode (dropout off), like the validation numbers.
    ``train_acc``/``val_acc``/``test_acc`` (and losses) are for the final weights: the restored
    best ones when early stopping was on. ``gap_acc = train_acc - val_acc``,
    ``gap_loss = val_loss - train_loss`` (all eval mode).
    """

    dropout: float
    weight_decay: float
    patience: int | None
    history: History
    clean_train_loss: list = field(default_factory=list)
    clean_train_acc: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    train_loss: float = math.nan
    train_acc: float = math.nan
    val_loss: float = math.nan
    val_acc: float = math.nan
    test_loss: float = math.nan
    test_acc: float = math.nan
    model: nn.Module | None = field(default=None, repr=False)

    @property
    def gap_acc(self) -> float:
        return self.train_acc - self.val_acc

    @property
    def gap_loss(self) -> float:
        return self.val_loss - self.train_loss

    def curves(self) -> dict:
        """Per-epoch lists: ``epoch``, ``train_loss`` (dropout on), ``clean_train_loss``, ``val_loss``,
        ``train_acc``, ``clean_train_acc``, ``val_acc``."""
        h = self.history
        return {"epoch": list(h.epoch), "train_loss": list(h.train_loss), "clean_train_loss": list(self.clean_train_loss),
                "val_loss": list(h.val_loss), "train_acc": list(h.train_acc),
                "clean_train_acc": list(self.clean_train_acc), "val_acc": list(h.val_acc)}


def train_run(split: Split, *, dropout: float = 0.0, weight_decay: float = 0.0, patience: int | None = None,
              min_delta: float = 0.0, epochs: int = 100, width: int = 256, depth: int = 2, lr: float = 0.05,
              momentum: float = 0.9, batch_size: int = 32, seed: int = 0, device=None,
              progress: bool = False) -> Run:
    """Train ``make_mlp(in, 10, width, depth, dropout=dropout)`` with SGD (+ momentum) on ``split``.

    Args:
        split: a :class:`course_utils.data.Split` of flat inputs (N, D) and class labels.
        dropout: drop probability after each hidden activation.
        weight_decay: torch's ``weight_decay`` (added to the gradient as ``weight_decay * w``, on
            every parameter, biases included).
        patience: if given, early stopping on the validation loss with this patience
            (:class:`BestWeights`), restoring the best weights at the end.
        seed: seeds the initial weights, the shuffling and the dropout masks.
    Returns:
        A :class:`Run`; ``run.model`` is the trained model (best weights with early stopping).
    """
    n_classes = int(torch.cat([split.y_train, split.y_val]).max()) + 1
    model = make_mlp(split.x_train.shape[1], n_classes, width=width, depth=depth, dropout=dropout, seed=seed)
    train, val = (split.x_train, split.y_train), (split.x_val, split.y_val)
    clean_loss, clean_acc = [], []
    stopper = BestWeights(model, patience, min_delta) if patience is not None else None

    def callback(epoch, history):
        loss, acc = evaluate(model, train)
        clean_loss.append(loss)
        clean_acc.append(acc)
        return stopper(epoch, history) if stopper is not None else False

    desc = f"p={dropout:g}, wd={weight_decay:g}" + ("" if patience is None else f", patience {patience}")
    history = fit(model, train, val, epochs=epochs, lr=lr, momentum=momentum, batch_size=batch_size,
                  weight_decay=weight_decay, record_grad_norms=False, progress=progress, seed=seed, device=device,
                  desc=desc, callback=callback)
    run = Run(dropout, weight_decay, patience, history, clean_loss, clean_acc, model=model)
    if stopper is not None:
        stopper.restore()
        run.best_epoch, run.stopped_epoch = stopper.best_epoch, stopper.stopped_epoch
    run.train_loss, run.train_acc = evaluate(model, train)
    run.val_loss, run.val_acc = evaluate(model, val)
    run.test_loss, run.test_acc = evaluate(model, (split.x_test, split.y_test))
    return run


def run_grid(split: Split, dropouts=(0.0, 0.5), weight_decays=(0.0, 1e-2), *, progress: bool = True,
             **kwargs) -> dict[tuple[float, float], Run]:
    """:func:`train_run` for every (dropout, weight_decay) pair; extra keyword arguments go to it.

    Returns:
        dict ``(dropout, weight_decay) -> Run``, in grid order. A progress bar counts the runs.
    """
    from tqdm.auto import tqdm

    pairs = [(float(p), float(wd)) for p in dropouts for wd in weight_decays]
    results = {}
    for p, wd in tqdm(pairs, desc="grid of runs", unit="run", disable=not progress):
        results[(p, wd)] = train_run(split, dropout=p, weight_decay=wd, **kwargs)
    return results


def format_table(rows: dict[str, Run], digits: int = 3) -> str:
    """A plain-text table: one row per named run with test accuracy, the train/val accuracy gap
    and the val - train loss gap (eval mode), and the epoch early stopping kept."""
    head = f"{'regulariser':<16}{'test acc':>9}{'train acc':>10}{'val acc':>9}{'acc gap':>9}{'loss gap':>9}  epochs"
    lines = [head, "-" * len(head)]
    for name, run in rows.items():
        epochs = f"{run.best_epoch} (stopped {run.stopped_epoch})" if run.patience is not None else str(
            len(run.history.epoch))
        lines.append(f"{name:<16}{run.test_acc:>9.{digits}f}{run.train_acc:>10.{digits}f}{run.val_acc:>9.{digits}f}"
                     f"{run.gap_acc:>9.{digits}f}{run.gap_loss:>9.{digits}f}  {epochs}")
    return "\n".join(lines)


def plot_run(run: Run, axes=None, title: str | None = None, reference: Run | None = None):
    """Loss and accuracy curves of one run on two panels.

    Lines: training loss as ``fit`` measured it (dropout on, during the epoch; drawn only when the run
    used dropout, since otherwise it matches the next one), the training set re-evaluated with dropout off
    after the epoch, and the validation set. Early stopping's best epoch is a dotted vertical line,
    the epoch it stopped at a dash-dotted one. ``reference`` (e.g. the unregularised run) adds its validation curves in grey.

    Returns:
        The matplotlib ``Figure``.
    """
    from course_utils import plots

    if axes is None:
        _, axes = plots.new_figure(1, 2)
    ax_loss, ax_acc = axes
    c = run.curves()
    colors = {"train": plots.COLOR["blue"], "val": plots.COLOR["orange"], "noisy": plots.COLOR["green"]}
    clean = "train" + (", dropout off" if run.dropout > 0 else "")
    if run.dropout > 0:
        ax_loss.plot(c["epoch"], c["train_loss"], color=colors["noisy"], label="train, dropout on (what fit reports)")
    for ax, key, val_key in ((ax_loss, "clean_train_loss", "val_loss"), (ax_acc, "clean_train_acc", "val_acc")):
        ax.plot(c["epoch"], c[key], color=colors["train"], label=clean)
        ax.plot(c["epoch"], c[val_key], color=colors["val"], label="validation")
        ax.set_xlabel("epoch")
    ax_loss.set(yscale="log", ylabel="cross-entropy loss", title="Loss")
    ax_acc.set(ylabel="accuracy", title="Accuracy")
    if reference is not None:
        r = reference.curves()
        ax_loss.plot(r["epoch"], r["val_loss"], color="0.6", lw=1, ls="--", label="validation, no regularisation")
        ax_acc.plot(r["epoch"], r["val_acc"], color="0.6", lw=1, ls="--", label="validation, no regularisation")
    if run.best_epoch is not None:
        for ax in axes:
            ax.axvline(run.best_epoch, color="k", ls=":", lw=1)
            if run.stopped_epoch is not None:
                ax.axvline(run.stopped_epoch, color="k", ls="-.", lw=1)
        ax_loss.text(run.best_epoch, ax_loss.get_ylim()[1], " best", va="top", fontsize=8)
    ax_acc.set_ylim(0, 1.02)
    ax_loss.legend(fontsize="small", loc="upper right")
    ax_acc.legend(fontsize="small", loc="lower right")
    fig = ax_loss.figure
    if title:
        fig.suptitle(title)
    return fig
