"""Transfer-learning experiments: four strategies, few labels per class, the shipped results.

The experiment of notebook 07: take the pretrained character network
(:func:`course_utils.pretrained.load_pretrained`), give it a new head for a target task, and
train on only ``k`` labelled images per class with one of four strategies:

==============  ============================================================================
``scratch``     a fresh, randomly initialised network, everything trained (lr ``LR_SCRATCH``)
``linear``      frozen pretrained base, only a new linear head trained ("feature extraction")
``last_block``  the head and the base's last conv block trained, the rest frozen
``all``         everything trained, the base with a 10x smaller learning rate than the head
==============  ============================================================================

Pretrained batch-norm layers stay in eval mode during transfer (they keep using the running
statistics from pretraining; with 10 images a batch's own statistics are too noisy). Training:
Adam, ``steps`` mini-batches of up to 64 images, optionally augmented with
``course_utils.augment.augment``; accuracy on a fixed held-out test set.

Targets: ``"digits"`` (scikit-learn's handwritten digits at 16x16, similar to the printed characters) and
``"textures"`` (oriented stripe textures, :func:`make_textures`, much less similar).

``tools/transfer_curve.py`` runs the full grid and writes :data:`RESULTS`, which
:func:`load_results` reads back for the notebook's figure and widget.
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .augment import add_noise, augment as augment_batch
from .pretrained import FEATURE_DIM, GlyphNet, load_pretrained

__all__ = ["STRATEGIES", "LABELS_PER_CLASS", "TARGETS", "RESULTS", "results_lookup", "results_explorer", "make_textures", "target_data",
           "few_shot", "transfer_model", "train_eval", "run_grid", "summarise", "load_results",
           "plot_curve"]

STRATEGIES = {
    "scratch": "from scratch",
    "linear": "frozen base + linear head",
    "last_block": "fine-tune last block",
    "all": "fine-tune all (base lr / 10)",
}
LABELS_PER_CLASS = (1, 2, 5, 10, 20, 50)
TARGETS = ("digits", "textures")
LR_SCRATCH, LR_HEAD, LR_BASE = 3e-3, 1e-2, 1e-3
DIGIT_AUGMENT = dict(degrees=10, translate=0.08, scale=(0.9, 1.1), shear=0.15)
RESULTS = Path(__file__).resolve().parent / "assets" / "transfer_results.json"

TEXTURE_CLASSES = tuple(f"{angle}°, {'fine' if fine else 'coarse'}" for fine in (0, 1)
                        for angle in (0, 45, 90, 135))


def make_textures(n_per_class: int, seed: int = 0, size: int = 16):
    """Oriented stripe textures, the "less similar" target: 8 classes = 4 angles x 2 stripe widths.

    Each image is a sinusoidal grating (angle 0/45/90/135 degrees, period 8 or 4 pixels) with a
    random phase, angle jitter (+-8 degrees) and contrast, on a grey background, plus strong
    pixel noise. Nothing like a pen stroke on an empty page.

    Returns:
        ``(x, y)``: float32 ``(8 * n_per_class, 1, size, size)`` in ``[0, 1]``, int64 labels 0..7
        (names in ``TEXTURE_CLASSES``), classes interleaved.
    """
    g = torch.Generator().manual_seed(int(seed))
    n = 8 * n_per_class
    y = torch.arange(n) % 8
    angle = (y % 4).float() * math.pi / 4 + (torch.rand(n, generator=g) - 0.5) * (16 * math.pi / 180)
    period = torch.where(y < 4, 8.0, 4.0)
    phase = torch.rand(n, generator=g) * 2 * math.pi
    contrast = 0.15 + 0.2 * torch.rand(n, generator=g)
    coords = torch.arange(size, dtype=torch.float32)
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")
    u = cols[None] * torch.cos(angle)[:, None, None] + rows[None] * torch.sin(angle)[:, None, None]
    x = 0.5 + contrast[:, None, None] * torch.sin(2 * math.pi * u / period[:, None, None] + phase[:, None, None])
    x = add_noise(x.unsqueeze(1), 0.15, generator=g)
    return x.contiguous(), y


def target_data(name: str = "digits", seed: int = 0):
    """A target task as ``(x_pool, y_pool, x_test, y_test)``; few-shot training sets come from the pool.

    ``"digits"``: the 1797 digits at 16x16, split 60 % pool / 40 % test (stratified, seeded).
    ``"textures"``: :func:`make_textures` with 100 pool and 100 test images per class.
    """
    if name == "digits":
        from .data import load_digits, train_val_test_split

        x, y = load_digits(size=16)
        s = train_val_test_split(x, y, fractions=(0.6, 0.0, 0.4), seed=seed)
        return s.x_train, s.y_train, s.x_test, s.y_test
    if name == "textures":
        x_pool, y_pool = make_textures(100, seed=1000 + seed)
        x_test, y_test = make_textures(100, seed=2000 + seed)
        return x_pool, y_pool, x_test, y_test
    raise ValueError(f"target must be one of {TARGETS}, got {name!r}")


def few_shot(y: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` random examples of every class in ``y`` (seeded, sorted by class)."""
    g = torch.Generator().manual_seed(int(seed))
    picks = []
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten()
        if len(members) < per_class:
            raise ValueError(f"class {c} has only {len(members)} examples, {per_class} requested")
        picks.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(picks)


def transfer_model(strategy: str, num_classes: int, base: GlyphNet | None = None):
    """A model for ``strategy`` and the optimiser parameter groups that train it.

    Args:
        strategy: a key of :data:`STRATEGIES`.
        num_classes: classes of the target task (size of the new head).
        base: the pretrained network to copy (default :func:`load_pretrained`); never modified.
    Returns:
        ``(model, groups)``: a new :class:`GlyphNet` whose frozen parameters have
        ``requires_grad=False``, and a list of ``{"params": [...], "lr": ...}`` dicts holding
        exactly the trainable parameters.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    if strategy == "scratch":
        model = GlyphNet(num_classes)
        return model, [{"params": list(model.parameters()), "lr": LR_SCRATCH}]
    model = copy.deepcopy(base if base is not None else load_pretrained())
    model.head = nn.Linear(FEATURE_DIM, num_classes)
    model.features.requires_grad_(False)
    tuned = {"linear": [], "last_block": [model.features[-1]], "all": [model.features]}[strategy]
    for module in tuned:
        module.requires_grad_(True)
    groups = [{"params": list(model.head.parameters()), "lr": LR_HEAD}]
    base_params = [p for p in model.features.parameters() if p.requires_grad]
    if base_params:
        groups.append({"params": base_params, "lr": LR_BASE})
    return model, groups


def _set_mode(model: GlyphNet, strategy: str) -> None:
    model.train()
    if strategy != "scratch":
        model.features.eval()  # pretrained batch norm keeps its running statistics


def train_eval(strategy: str, train, test, *, seed: int = 0, steps: int = 100, augment: bool = False,
               base: GlyphNet | None = None, batch_size: int = 64, device=None) -> float:
    """Train one model with ``strategy`` on ``train = (x, y)`` and return its accuracy on ``test``.

    Seeded: the head's initial weights, the batches and the augmentations depend only on ``seed``.
    """
    device = torch.device(device or "cpu")
    x, y = train[0].to(device), train[1].to(device)
    num_classes = int(torch.cat([train[1], test[1]]).max()) + 1
    torch.manual_seed(seed)
    model, groups = transfer_model(strategy, num_classes, base)
    model.to(device)
    optimizer = torch.optim.Adam(groups)
    g = torch.Generator().manual_seed(seed)
    frozen_features = None
    if strategy == "linear" and not augment:  # the base never changes: compute its features once
        with torch.no_grad():
            model.eval()
            frozen_features = model.embed(x)
    for _ in range(steps):
        idx = torch.randperm(len(x), generator=g)[:batch_size].to(device)
        _set_mode(model, strategy)
        if frozen_features is not None:
            logits = model.head(frozen_features[idx])
        else:
            xb = x[idx]
            if augment:
                xb = augment_batch(xb.cpu(), **DIGIT_AUGMENT, generator=g).to(device)
            logits = model(xb)
        loss = F.cross_entropy(logits, y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        pred = model(test[0].to(device)).argmax(1).cpu()
    return float((pred == test[1]).float().mean())


def run_grid(target: str = "digits", strategies=tuple(STRATEGIES), labels_per_class=LABELS_PER_CLASS,
             seeds=(0, 1, 2), augment=(False,), steps: int = 100, progress: bool = True, device=None) -> list[dict]:
    """Every combination of strategy x labels per class x augmentation x seed; one row per run.

    Seed ``s`` fixes the few-shot training set (the same for all strategies) and the training
    randomness. Returns a list of dicts with keys target, strategy, labels, augment, seed, accuracy.
    """
    from tqdm.auto import tqdm

    x_pool, y_pool, x_test, y_test = target_data(target)
    base = load_pretrained()
    runs = [(k, s, a, st) for k in labels_per_class for s in seeds for a in augment for st in strategies]
    rows = []
    for k, s, a, st in tqdm(runs, desc=f"{target}: transfer runs", disable=not progress):
        idx = few_shot(y_pool, k, seed=s)
        acc = train_eval(st, (x_pool[idx], y_pool[idx]), (x_test, y_test), seed=s, steps=steps,
                         augment=a, base=base, device=device)
        rows.append({"target": target, "strategy": st, "labels": k, "augment": bool(a), "seed": s,
                     "accuracy": round(acc, 4)})
    return rows


def summarise(rows: list[dict]) -> dict:
    """Mean and standard deviation over seeds: ``{(target, strategy, labels, augment): (mean, std, n)}``."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["target"], r["strategy"], r["labels"], r["augment"]), []).append(r["accuracy"])
    return {key: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v))
            for key, v in groups.items()}


def load_results(path=RESULTS) -> dict:
    """The shipped full-grid results: ``{"meta": {...}, "rows": [...]}`` (see ``tools/transfer_curve.py``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}; run `python tools/transfer_curve.py` to make it")
    return json.loads(path.read_text())


def plot_curve(summary: dict, target: str = "digits", augment: bool = False, strategies=tuple(STRATEGIES),
               ax=None, highlight: str | None = None, title: str | None = None):
    """Accuracy against labels per class, one line per strategy, error bars = 1 std over seeds."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4))
    for i, st in enumerate(STRATEGIES):
        if st not in strategies:
            continue
        keys = sorted(k for k in summary if k[0] == target and k[1] == st and k[3] == augment)
        if not keys:
            continue
        ks = [k[2] for k in keys]
        mean = [summary[k][0] for k in keys]
        std = [summary[k][1] for k in keys]
        bold = highlight is None or highlight == st
        ax.errorbar(ks, mean, yerr=std, marker="o", capsize=3, color=f"C{i}", label=STRATEGIES[st],
                    alpha=1.0 if bold else 0.35, linewidth=2.2 if highlight == st else 1.5)
    ax.set_xscale("log")
    ax.set_xticks(list(LABELS_PER_CLASS), [str(k) for k in LABELS_PER_CLASS])
    ax.set(xlabel="labelled images per class", ylabel="test accuracy", ylim=(0, 1),
           title=title or f"{target}{' + augmentation' if augment else ''}")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def results_lookup(summary: dict, target: str, labels: int, strategy: str, augmented: bool) -> dict:
    """Mean and std accuracy over seeds from the shipped results (augmentation was run on digits only).

    Args:
        summary: :func:`summarise`'s dict ``(target, strategy, labels, augmented) -> (mean, std, n)``.
        target, labels, strategy: a target in :data:`TARGETS`, labels per class in
            :data:`LABELS_PER_CLASS` and a strategy in :data:`STRATEGIES`.
        augmented: with augmentation; ignored for the textures (never augmented).
    Returns:
        dict with ``mean``, ``std``, ``n`` (seeds), ``aug`` (augmentation actually used) and ``scratch``
        (the from-scratch mean in the same setting).
    """
    aug = bool(augmented) and target == "digits"
    mean, std, n = summary[(target, strategy, labels, aug)]
    return {"mean": mean, "std": std, "n": n, "aug": aug, "scratch": summary[(target, "scratch", labels, aug)][0]}


def results_explorer(summary: dict):
    """Lesson 07's app: browse the shipped results by target, labels per class, strategy, augmentation.

    The chosen strategy's curve is highlighted (:func:`plot_curve`) and its accuracy starred. The figure
    is persistent: each (target, augmentation, strategy) picture is drawn once -- all of them when the
    app is made, outside fast mode -- and an update only restores it and draws the star and the title
    (:class:`course_utils.plots.FastRedraw`).

    Returns:
        An :class:`course_utils.widgets.App` whose ``state.data`` is :func:`results_lookup`'s dict.
    """
    from matplotlib.figure import Figure

    from .plots import FastRedraw
    from .reproducibility import fast_mode
    from .widgets import App, dropdown, toggle

    fig = Figure(figsize=(8, 4.2), dpi=80, layout="none")
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.09, right=0.97, bottom=0.13, top=0.9)
    star, = ax.plot([], [], "k*", markersize=16, zorder=5)
    backgrounds = [(t, a, st) for t in TARGETS for a in ((False, True) if t == "digits" else (False,)) for st in STRATEGIES]
    redraw = FastRedraw(fig, moving=[star, ax.title], backgrounds=len(backgrounds))
    drawn: list = []  # the curves of the current (target, augmentation, strategy)

    def set_curves(key):
        target, aug, strategy = key
        for artist in drawn:
            artist.remove()
        containers = list(ax.containers)
        plot_curve(summary, target, augment=aug, ax=ax, highlight=strategy)
        # plot_curve adds one error-bar container per strategy (removing it removes its lines and the
        # legend entry), a new legend (replacing the old one) and the title
        drawn[:] = [c for c in ax.containers if c not in containers]

    def compute(target, labels, strategy, augmented):
        return results_lookup(summary, target, labels, strategy, augmented)

    def draw(data, values):
        key = (values["target"], data["aug"], values["strategy"])
        if key != redraw_key[0] and not redraw.has_background(key):  # the curves are drawn only in full draws
            set_curves(key)
            redraw_key[0] = key
        ax.set_title(f"{values['target']}{' + augmentation' if data['aug'] else ''}: {STRATEGIES[values['strategy']]}, "
                     f"{values['labels']}/class -> {data['mean']:.1%} ± {data['std']:.1%} (scratch {data['scratch']:.1%})")
        star.set_data([values["labels"]], [data["mean"]])
        return redraw.png(static_key=key)

    redraw_key = [None]
    if not fast_mode():
        for key in backgrounds:  # every static picture once, so no update waits for a full draw
            set_curves(key)
            redraw_key[0] = key
            redraw.prepare(key)
    return App(
        controls={
            "target": dropdown(list(TARGETS), "digits", "target"),
            "labels": dropdown(list(LABELS_PER_CLASS), 1, "labels per class"),
            "strategy": dropdown({name: key for key, name in STRATEGIES.items()}, "linear", "strategy"),
            "augmented": toggle("augmentation (digits)", False),
        },
        compute=compute, draw=draw, title="Transfer learning: accuracy from the shipped results", cache=True,
    )
