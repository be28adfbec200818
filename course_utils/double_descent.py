"""Double descent: random-ReLU-feature regression (min-norm / ridge) and a batched width sweep.

Part 1 of notebook 03 fits ``n`` noisy samples of a 1-D function with the first ``d`` Legendre
polynomials by the **minimum-norm least-squares** solution, for every ``d`` at once
(:func:`feature_sweep`), so a widget's ``d`` slider only indexes.

Part 2 trains one two-hidden-layer MLP per hidden width on MNIST-1D. Instead of one model at
a time (:func:`train_one_at_a_time`, the UDL notebook 8.3 loop), :func:`train_width_sweep`
trains **all widths in one batched computation**: widths are grouped, each group is padded to
its largest width and stored as stacked weight tensors ``(models, in, out)`` that
``torch.bmm`` multiplies in one call per layer. Padded units start at zero and stay exactly
zero under SGD (their incoming and outgoing weights get zero gradient, since ReLU'(0) = 0 in
PyTorch), and a mask re-zeroes them after every step for safety, so every model in the batch
follows the same trajectory as the same model trained alone (the unit tests check this).
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "min_norm_solution",
    "feature_sweep",
    "mlp_num_params",
    "group_widths",
    "BatchedMLP",
    "train_width_sweep",
    "train_one_at_a_time",
    "trained_mlp",
    "sweep_to_arrays",
    "load_sweep",
    "SWEEP_ASSET",
]

from pathlib import Path

from numpy.polynomial.legendre import legvander as _legvander

#: The full-fidelity MNIST-1D sweep shipped with the course (written by tools/double_descent_sweep.py).
SWEEP_ASSET = Path(__file__).resolve().parent / "assets" / "double_descent_mnist1d.npz"


# --------------------------------------------------------------------------------------------
# Part 1: random ReLU features and the minimum-norm solution
# --------------------------------------------------------------------------------------------
def min_norm_solution(Phi, y, ridge: float = 0.0, rcond: float = 1e-15) -> np.ndarray:
    """Minimum-norm least-squares (``ridge=0``) or ridge solution of ``Phi w ≈ y`` via the SVD.

    ``w = V diag(s / (s² + λ)) Uᵀ y``; with ``λ = 0`` singular values below ``rcond * s_max``
    are treated as zero, exactly like ``numpy.linalg.pinv``. Works for ``d < n``, ``d = n``,
    ``d > n`` and rank-deficient ``Phi``.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    U, s, Vt = np.linalg.svd(Phi, full_matrices=False)
    if ridge > 0:
        scale = s / (s**2 + ridge)
    else:
        keep = s > rcond * (s[0] if s.size else 0.0)
        scale = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return Vt.T @ (scale * (U.T @ y))


def feature_sweep(x_train, y_train, x_test, y_test, ds, ridge: float = 0.0, x_grid=None) -> dict:
    """Fit the first ``d`` Legendre features for every ``d`` in ``ds`` (min-norm or ridge).

    Returns a dict of arrays: ``ds``, ``train_mse``, ``test_mse``, ``norm`` (‖w‖₂), each
    ``(len(ds),)``, and, when ``x_grid`` is given, ``grid_pred`` ``(len(ds), len(x_grid))``:
    everything a widget needs, so moving its ``d`` slider only indexes.
    """
    ds = np.asarray(ds, dtype=int)
    D = int(ds.max())
    # Legendre features P_0 .. P_{D-1} (the lesson's first exercise asks the student to write them).
    P_train, P_test = _legvander(x_train, D - 1), _legvander(x_test, D - 1)
    P_grid = None if x_grid is None else _legvander(x_grid, D - 1)
    y_train = np.asarray(y_train, dtype=np.float64).reshape(-1)
    y_test = np.asarray(y_test, dtype=np.float64).reshape(-1)
    out = {"ds": ds, "train_mse": np.empty(len(ds)), "test_mse": np.empty(len(ds)), "norm": np.empty(len(ds))}
    if P_grid is not None:
        out["grid_pred"] = np.empty((len(ds), len(P_grid)))
    for i, d in enumerate(ds):
        w = min_norm_solution(P_train[:, :d], y_train, ridge=ridge)
        out["train_mse"][i] = np.mean((P_train[:, :d] @ w - y_train) ** 2)
        out["test_mse"][i] = np.mean((P_test[:, :d] @ w - y_test) ** 2)
        out["norm"][i] = np.linalg.norm(w)
        if P_grid is not None:
            out["grid_pred"][i] = P_grid[:, :d] @ w
    return out


# --------------------------------------------------------------------------------------------
# Part 2: many MLP widths trained at once
# --------------------------------------------------------------------------------------------
def mlp_num_params(width: int, in_features: int = 40, out_features: int = 10) -> int:
    """Parameters of ``in -> width -> width -> out`` with biases."""
    return (in_features + 1) * width + (width + 1) * width + (width + 1) * out_features


def group_widths(widths: Sequence[int], max_ratio: float = 1.5) -> list[list[int]]:
    """Split sorted widths into groups whose largest width is at most ``max_ratio`` times the
    smallest (so padding wastes little). ``max_ratio=inf`` gives one group, ``1`` one group per width."""
    groups: list[list[int]] = []
    for w in sorted(int(w) for w in widths):
        if groups and w <= max_ratio * groups[-1][0]:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


class BatchedMLP(torch.nn.Module):
    """Many ``in -> w -> w -> out`` ReLU MLPs (one per width) as padded, stacked tensors.

    Args:
        widths: hidden widths, one model each (any order; duplicates allowed).
        groups: how to batch them, from :func:`group_widths` (default: ``max_ratio=1.5``).
        seed: initialisation seed. Weights: He (Kaiming) uniform on the true fan-in, biases 0
            (as in UDL notebook 8.3); model ``i`` gets the same numbers whatever the grouping.
    ``forward(x)`` returns logits ``(num_models, batch, out)`` in the order of ``widths``.
    """

    def __init__(self, widths, in_features: int = 40, out_features: int = 10, groups=None, seed: int = 0):
        super().__init__()
        self.widths = [int(w) for w in widths]
        if groups is None:
            groups = group_widths(sorted(set(self.widths)))
        self.in_features, self.out_features = in_features, out_features
        self.params = torch.nn.ParameterList()
        masks = []
        remaining = list(range(len(self.widths)))
        slots = []
        for gi, group in enumerate(groups):
            members = [i for i in remaining if self.widths[i] in group]
            remaining = [i for i in remaining if i not in members]
            if not members:
                continue
            P = max(self.widths[i] for i in members)
            k = len(members)
            W1 = torch.zeros(k, in_features, P)
            W2 = torch.zeros(k, P, P)
            W3 = torch.zeros(k, P, out_features)
            mask = torch.zeros(k, P)
            for slot, i in enumerate(members):
                w = self.widths[i]
                g = torch.Generator().manual_seed(int(seed) * 100003 + i)
                W1[slot, :, :w] = self._he_uniform(in_features, w, g)
                W2[slot, :w, :w] = self._he_uniform(w, w, g)
                W3[slot, :w, :] = self._he_uniform(w, out_features, g)
                mask[slot, :w] = 1.0
            for t in (W1, torch.zeros(k, 1, P), W2, torch.zeros(k, 1, P), W3, torch.zeros(k, 1, out_features)):
                self.params.append(torch.nn.Parameter(t))
            masks.append(mask)
            slots.append(members)
        if remaining:
            raise ValueError(f"widths {[self.widths[i] for i in remaining]} are in no group")
        self.slots = slots
        for gi, mask in enumerate(masks):
            self.register_buffer(f"mask{gi}", mask)
        position = torch.empty(len(self.widths), dtype=torch.long)
        start = 0
        for members in slots:
            for slot, i in enumerate(members):
                position[i] = start + slot
            start += len(members)
        self.register_buffer("position", position)

    @staticmethod
    def _he_uniform(fan_in: int, fan_out: int, generator) -> torch.Tensor:
        bound = math.sqrt(6.0 / fan_in)  # kaiming_uniform_ with gain sqrt(2): U(-sqrt(6/fan_in), sqrt(6/fan_in))
        return (torch.rand(fan_in, fan_out, generator=generator) * 2 - 1) * bound

    def group_params(self, gi: int):
        return list(self.params[6 * gi: 6 * gi + 6])

    def group_logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits of each group's models, a list of ``(k, batch, out)`` tensors (slot order)."""
        outs = []
        for gi in range(len(self.slots)):
            W1, b1, W2, b2, W3, b3 = self.group_params(gi)
            xs = x.unsqueeze(0).expand(W1.shape[0], -1, -1)
            h = torch.relu(torch.baddbmm(b1, xs, W1))       # (k, B, P)
            h = torch.relu(torch.baddbmm(b2, h, W2))        # (k, B, P)
            outs.append(torch.baddbmm(b3, h, W3))           # (k, B, out)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = self.group_logits(x)
        return torch.cat(outs, 0).index_select(0, self.position)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Sum over models of each model's mean cross-entropy on ``(x, y)``: its gradient with
        respect to model ``i``'s weights is exactly model ``i``'s own gradient."""
        total = 0.0
        for logits in self.group_logits(x):
            k, B, C = logits.shape
            total = total + F.cross_entropy(logits.reshape(k * B, C), y.repeat(k), reduction="sum")
        return total / len(y)

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Re-zero the padded units (a no-op in exact arithmetic; kept as a guarantee)."""
        for gi in range(len(self.slots)):
            W1, b1, W2, b2, W3, _ = self.group_params(gi)
            m = getattr(self, f"mask{gi}")
            W1.mul_(m[:, None, :])
            b1.mul_(m[:, None, :])
            W2.mul_(m[:, :, None] * m[:, None, :])
            b2.mul_(m[:, None, :])
            W3.mul_(m[:, :, None])

    def model_state(self, i: int) -> dict:
        """Model ``i``'s weights as an ``nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)`` state dict."""
        for gi, members in enumerate(self.slots):
            if i in members:
                slot, w = members.index(i), self.widths[i]
                W1, b1, W2, b2, W3, b3 = (p.detach()[slot] for p in self.group_params(gi))
                return {"0.weight": W1[:, :w].T.clone(), "0.bias": b1[0, :w].clone(),
                        "2.weight": W2[:w, :w].T.clone(), "2.bias": b2[0, :w].clone(),
                        "4.weight": W3[:w].T.clone(), "4.bias": b3[0].clone()}
        raise IndexError(i)


def trained_mlp(model: BatchedMLP, width: int) -> torch.nn.Sequential:
    """The first model of ``width`` in a :class:`BatchedMLP` as a plain ``nn.Sequential`` copy."""
    i = model.widths.index(int(width))
    net = _sequential(int(width), model.in_features, model.out_features)
    net.load_state_dict(model.model_state(i))
    return net.to(model.position.device)


def _sequential(width: int, in_features: int, out_features: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(in_features, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, out_features))


def _log_epochs(epochs: int, num: int = 40) -> np.ndarray:
    """About ``num`` epochs from 1 to ``epochs``, log-spaced, always including both ends."""
    return np.unique(np.round(np.geomspace(1, epochs, num)).astype(int))


def _batch_orders(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) + 7919)


@torch.no_grad()
def _errors(logits: torch.Tensor, y: torch.Tensor):
    """(error %, mean cross-entropy) per model for logits ``(M, N, C)``."""
    err = (logits.argmax(-1) != y).float().mean(-1) * 100
    loss = F.cross_entropy(logits.permute(0, 2, 1), y.expand(logits.shape[0], -1), reduction="none").mean(-1)
    return err.cpu().numpy(), loss.cpu().numpy()


def train_width_sweep(x_train, y_train, x_test, y_test, widths, *, epochs: int = 1000, lr: float = 0.01,
                      momentum: float = 0.9, batch_size: int = 100, seed: int = 0, groups=None,
                      log_epochs=None, device=None, progress: bool = True, on_log=None) -> dict:
    """Train one MLP per width, all at once (see the module docstring). UDL 8.3's settings.

    Every model sees the same mini-batches (one shuffle per epoch from ``seed``) and its own
    SGD-with-momentum state; the summed loss gives each model exactly its own gradient.
    Args:
        x_*: float tensors ``(N, in)``; y_*: int64 labels ``(N,)``.
        widths: hidden widths. groups: see :func:`group_widths`.
        log_epochs: epochs (1-based) after which train/test error and loss are recorded
            (default: ~40 log-spaced epochs including the last).
        device: a torch device (default CPU); use ``course_utils.reproducibility.device()``.
        on_log: optional ``on_log(partial_result)`` called after each recorded epoch (to save
            progress of a long sweep).
    Returns:
        dict of numpy arrays: ``widths`` (W,), ``num_params`` (W,), ``epochs`` (E,),
        ``train_error``/``test_error`` in % and ``train_loss``/``test_loss``, each (E, W),
        and ``seconds`` (wall time).
    """
    from tqdm.auto import tqdm

    device = torch.device(device or "cpu")
    start = time.perf_counter()
    x_train, y_train = torch.as_tensor(x_train).float().to(device), torch.as_tensor(y_train).long().to(device)
    x_test, y_test = torch.as_tensor(x_test).float().to(device), torch.as_tensor(y_test).long().to(device)
    widths = [int(w) for w in widths]
    model = BatchedMLP(widths, x_train.shape[1], int(max(y_train.max(), y_test.max())) + 1, groups=groups,
                       seed=seed).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, foreach=True)
    log_epochs = _log_epochs(epochs) if log_epochs is None else np.asarray(sorted(set(int(e) for e in log_epochs)))
    record = {k: [] for k in ("train_error", "test_error", "train_loss", "test_loss")}
    log_set = set(log_epochs.tolist())
    gen = _batch_orders(seed)
    n = len(x_train)
    for epoch in tqdm(range(1, epochs + 1), desc=f"{len(widths)} widths at once", disable=not progress,
                      mininterval=1.0):
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            loss = model.loss(x_train[idx], y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.apply_masks()
        if epoch in log_set:
            with torch.no_grad():
                for split, (xs, ys) in {"train": (x_train, y_train), "test": (x_test, y_test)}.items():
                    err, ls = _errors(model(xs), ys)
                    record[f"{split}_error"].append(err)
                    record[f"{split}_loss"].append(ls)
            if on_log is not None:
                on_log(_sweep_result(record, widths, x_train.shape[1], log_epochs[:len(record["train_error"])], start))
    out = _sweep_result(record, widths, x_train.shape[1], log_epochs, start)
    out["model"] = model
    return out


def _sweep_result(record, widths, in_features, epochs, start) -> dict:
    out = {k: np.asarray(v, dtype=np.float32) for k, v in record.items()}
    out.update(widths=np.asarray(widths), num_params=np.asarray([mlp_num_params(w, in_features) for w in widths]),
               epochs=np.asarray(epochs), seconds=np.asarray(time.perf_counter() - start))
    return out


def train_one_at_a_time(x_train, y_train, x_test, y_test, widths, *, epochs: int = 1000, lr: float = 0.01,
                        momentum: float = 0.9, batch_size: int = 100, seed: int = 0, device=None,
                        progress: bool = True) -> dict:
    """The straightforward loop (UDL notebook 8.3): one ``nn.Sequential`` after another.

    Same initial weights (taken from a :class:`BatchedMLP` with the same seed) and the same
    mini-batch order as :func:`train_width_sweep`, so the two agree up to rounding. Records the
    final epoch only. Returns the same keys (with ``epochs = [epochs]``).
    """
    from tqdm.auto import tqdm

    device = torch.device(device or "cpu")
    start = time.perf_counter()
    x_train, y_train = torch.as_tensor(x_train).float().to(device), torch.as_tensor(y_train).long().to(device)
    x_test, y_test = torch.as_tensor(x_test).float().to(device), torch.as_tensor(y_test).long().to(device)
    widths = [int(w) for w in widths]
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    init = BatchedMLP(widths, x_train.shape[1], num_classes, seed=seed)
    record = {k: [] for k in ("train_error", "test_error", "train_loss", "test_loss")}
    n = len(x_train)
    for i, w in enumerate(tqdm(widths, desc="one width at a time", disable=not progress)):
        net = _sequential(w, x_train.shape[1], num_classes)
        net.load_state_dict(init.model_state(i))
        net.to(device)
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
        gen = _batch_orders(seed)
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen).to(device)
            for j in range(0, n, batch_size):
                idx = perm[j:j + batch_size]
                loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            for split, (xs, ys) in {"train": (x_train, y_train), "test": (x_test, y_test)}.items():
                err, ls = _errors(net(xs)[None], ys)
                record[f"{split}_error"].append(err[0])
                record[f"{split}_loss"].append(ls[0])
    out = {k: np.asarray(v, dtype=np.float32)[None] for k, v in record.items()}
    out.update(widths=np.asarray(widths), num_params=np.asarray([mlp_num_params(w, x_train.shape[1]) for w in widths]),
               epochs=np.asarray([epochs]), seconds=np.asarray(time.perf_counter() - start))
    return out


def sweep_to_arrays(result: dict) -> dict:
    """The numpy arrays of a sweep result (drops the model), ready for ``np.savez``."""
    return {k: np.asarray(v) for k, v in result.items() if k != "model"}


def load_sweep(path=None) -> dict:
    """Load a saved sweep (default: the full MNIST-1D sweep shipped in ``course_utils/assets``)."""
    with np.load(path or SWEEP_ASSET, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
