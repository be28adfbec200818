"""The ablation of notebook 10 -> course_utils/assets/lecun1989_ablation.json.

    OMP_NUM_THREADS=1 nice -n 10 python tools/lecun1989_ablation.py > /tmp/ablation.log 2>&1 &   # CPU-minutes
    python tools/lecun1989_ablation.py --quick --out /tmp/x.json                                # seconds: a smoke test

Trains the 1989 network (course_utils.lecun1989.Net1989, the paper's sizes, weights uniform in
+-2.4/sqrt(fan_in)) on the offline digits (1,297 training / 500 test images) the paper's way -- one example
per weight update, 23 passes -- in these settings:

* the 1989 recipe (tanh, MSE on +-1 targets, plain SGD);
* each modern change alone: cross-entropy, AdamW + schedule, +-1 pixel shifts, dropout, ReLU;
* all five changes together.

Each setting gets its own learning rate, chosen on a VALIDATION split, never on the test set: the 1,297
training images are split (stratified, seeded) into 1,000 for fitting and 297 for validation; every
learning rate of the grid (SGD: SGD_LRS, AdamW: ADAMW_LRS) trains for the full 23 passes with TUNE_SEEDS, and
the rate with the lowest mean validation error wins. Then every setting trains on all 1,297 training images
with its rate over SEEDS seeds (seed s: the same initial weights and the same order of examples in every
setting) and is tested once on the 500 test images.

Networks with the same optimiser (and, for AdamW, the same rate) train together in a bank (lockstep, one
process, one thread: torch's threads do not pay for one example at a time). Stores, per setting, the chosen
rate, the validation error of every rate, the test error of every seed and its curve (test error after
every pass); prints the tables.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from course_utils.lecun1989 import (  # noqa: E402
    ADAMW_WEIGHT_DECAY,
    CHANGES,
    RESULTS,
    Data1989,
    Net1989,
    Setting,
    load_digits_1989,
    setting_key,
)

SEEDS = 5
PASSES = 23  # the paper's
N_TEST = 500
N_VAL = 297  # of the 1,297 training images, for choosing each setting's learning rate
INIT = "sqrt"
BATCH = 1  # one example per weight update, as in the paper
SGD_LRS = (0.003, 0.01, 0.03, 0.1)
ADAMW_LRS = (1e-4, 3e-4, 1e-3)
TUNE_SEEDS = (100,)  # not the seeds of the final runs


def h2_mask() -> torch.Tensor:
    """Which H1 maps each H2 map reads (the paper does not say; A. Karpathy's choice): maps 0-3 read
    H1 maps 0-7, maps 4-7 read 4-11, maps 8-11 read 0-3 and 8-11."""
    mask = torch.zeros(12, 12, dtype=torch.bool)
    mask[0:4, 0:8] = True
    mask[4:8, 4:12] = True
    mask[8:12, 0:4] = True
    mask[8:12, 8:12] = True
    return mask


def shift(x: torch.Tensor, shifts: torch.Tensor, fill: float) -> torch.Tensor:
    """Shift each image of ``x (N, C, H, W)`` by ``shifts[n] = (down, right)`` pixels; new pixels = fill."""
    n, c, h, w = x.shape
    m = int(shifts.abs().max()) if len(shifts) else 0
    padded = torch.nn.functional.pad(x, (m, m, m, m), value=fill)
    rows = (m - shifts[:, 0])[:, None] + torch.arange(h)[None]  # (N, H)
    cols = (m - shifts[:, 1])[:, None] + torch.arange(w)[None]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def settings() -> list[Setting]:
    """The 1989 recipe, each change alone, all five together."""
    return [Setting(), *(Setting(**{name: True}) for name in CHANGES), Setting(**{name: True for name in CHANGES})]


def split_validation(data: Data1989, n_val: int = N_VAL, seed: int = 0) -> Data1989:
    """The training images split into fitting and validation parts: ``x_test``/``y_test`` are the validation."""
    from course_utils.lecun1989 import _stratified_split

    fit, val = _stratified_split(data.y_train.numpy(), n_val, seed)
    fit, val = torch.from_numpy(fit), torch.from_numpy(val)
    return Data1989(data.x_train[fit].contiguous(), data.y_train[fit], data.x_train[val].contiguous(),
                    data.y_train[val], data.name + " (validation split)")


# --------------------------------------------------------------------------------------------
# Per-example training of K networks in lockstep, by hand in NumPy
# --------------------------------------------------------------------------------------------
class Lockstep:
    """K copies of the 1989 network trained one example per step, each copy on its own example.

    The arithmetic of ``course_utils.lecun1989.Net1989`` + ``train_bank(batch_size=1)`` written out with a
    leading K axis (forward, backward, SGD or AdamW): through autograd one such step costs about a millisecond
    per copy, here a small fraction of that. Per copy: tanh or ReLU, MSE on +-1 targets or cross-entropy,
    dropout on the 192 H2 units, +-1 pixel shifts, its own learning rate.
    """

    def __init__(self, net: Net1989, relu, cross_entropy, dropout, shifts, lr, adamw: bool, seed: int):
        from course_utils.lecun1989 import _WINDOWS_H2, _scatter_matrix

        k = net.n_models
        f32 = np.float32
        p = {name: t.detach().numpy().astype(f32) for name, t in net.named_parameters()}
        mask = net.mask.numpy().astype(f32)
        self.k = k
        self.m2 = np.repeat(mask.T[None], 25, axis=0).reshape(300, 12)
        self.w = {
            "w1": p["h1_w"].reshape(k, 12, 25).transpose(0, 2, 1).copy(),              # (K, 25, 12)
            "b1": p["h1_b"].reshape(k, 12, 64).transpose(0, 2, 1).copy(),              # (K, 64, 12)
            "w2": p["h2_w"].reshape(k, 12, 12, 25).transpose(0, 3, 2, 1).reshape(k, 300, 12) * self.m2,
            "b2": p["h2_b"].reshape(k, 12, 16).transpose(0, 2, 1).copy(),              # (K, 16, 12)
            "w3": p["h3_w"].copy(), "b3": p["h3_b"].copy(),                            # (K, 192, 30), (K, 30)
            "w4": p["out_w"].copy(), "b4": p["out_b"].copy(),                          # (K, 30, 10), (K, 10)
        }
        self.relu = np.asarray(relu, bool)
        self.ce = np.asarray(cross_entropy, bool)
        self.keep = 1.0 - np.asarray(dropout, f32)
        self.shifts = np.asarray(shifts, bool)
        self.lr = np.asarray(lr, f32)
        self.adamw = adamw
        self.idx2 = _WINDOWS_H2.numpy()
        self.inner = np.array([(r + 2) * 12 + (c + 2) for r in range(8) for c in range(8)])
        self.scatter = _scatter_matrix()
        self.rng = np.random.default_rng(seed)
        if adamw:
            self.m = {n: np.zeros_like(v) for n, v in self.w.items()}
            self.v = {n: np.zeros_like(v) for n, v in self.w.items()}
            self.t = 0

    def _act(self, z, shape):
        relu = self.relu.reshape(shape)
        if not relu.any():
            return np.tanh(z)
        if relu.all():
            return np.maximum(z, 0)
        return np.where(relu, np.maximum(z, 0), np.tanh(z))

    def _slope(self, h, shape):
        """Derivative of the activation, from its output h."""
        relu = self.relu.reshape(shape)
        if not relu.any():
            return 1 - h * h
        if relu.all():
            return (h > 0).astype(h.dtype)
        return np.where(relu, (h > 0).astype(h.dtype), 1 - h * h)

    def step(self, p1, y, lr_factor: float = 1.0) -> None:
        """One update of every copy: ``p1 (K, 64, 25)`` input windows, ``y (K,)`` labels."""
        k, w = self.k, self.w
        h1 = self._act(p1 @ w["w1"] + w["b1"], (k, 1, 1))                      # (K, 64, 12)
        padded = np.full((k, 144, 12), -1.0, dtype=np.float32)
        padded[:, self.inner] = h1
        p2 = padded[:, self.idx2].reshape(k, 16, 300)
        h2 = self._act(p2 @ w["w2"] + w["b2"], (k, 1, 1))                      # (K, 16, 12)
        drop = (self.rng.random(h2.shape, dtype=np.float32) < self.keep[:, None, None]) / self.keep[:, None, None]
        h2d = h2 * drop
        flat = h2d.transpose(0, 2, 1).reshape(k, 192)
        h3 = self._act(np.einsum("kf,kfo->ko", flat, w["w3"]) + w["b3"], (k, 1))
        out = np.einsum("kf,kfo->ko", h3, w["w4"]) + w["b4"]                  # (K, 10) logits
        onehot = np.eye(10, dtype=np.float32)[y]
        o = np.tanh(out)
        d4 = (2.0 / 10.0) * (o - (2 * onehot - 1)) * (1 - o * o)
        if self.ce.any():
            e = np.exp(out - out.max(1, keepdims=True))
            d4 = np.where(self.ce[:, None], e / e.sum(1, keepdims=True) - onehot, d4)
        d3 = np.einsum("kfo,ko->kf", w["w4"], d4) * self._slope(h3, (k, 1))
        dflat = np.einsum("kfo,ko->kf", w["w3"], d3)                           # (K, 192)
        d2 = dflat.reshape(k, 12, 16).transpose(0, 2, 1) * drop * self._slope(h2, (k, 1, 1))
        dp2 = d2 @ w["w2"].transpose(0, 2, 1)                                   # (K, 16, 300)
        d1 = (self.scatter @ dp2.reshape(k, 400, 12)) * self._slope(h1, (k, 1, 1))
        grads = {"w4": h3[:, :, None] * d4[:, None, :], "b4": d4,
                 "w3": flat[:, :, None] * d3[:, None, :], "b3": d3,
                 "w2": (p2.transpose(0, 2, 1) @ d2) * self.m2, "b2": d2,
                 "w1": p1.transpose(0, 2, 1) @ d1, "b1": d1}
        if not self.adamw:
            for name, g in grads.items():
                w[name] -= self.lr.reshape((k,) + (1,) * (g.ndim - 1)) * g
            return
        self.t += 1
        b1, b2, eps, wd = 0.9, 0.999, 1e-8, ADAMW_WEIGHT_DECAY
        lr = self.lr * lr_factor
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for name, g in grads.items():
            rate = lr.reshape((k,) + (1,) * (g.ndim - 1))
            w[name] *= 1 - rate * wd
            m, v = self.m[name], self.v[name]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            w[name] -= rate * (m / c1) / (np.sqrt(v / c2) + eps)
            if name == "w2":
                w[name] *= self.m2

    def errors(self, p1, y) -> np.ndarray:
        """Error rate of every copy on windows ``p1 (N, 64, 25)`` (no dropout), ``(K,)``."""
        w, out = self.w, []
        for i in range(self.k):
            z1 = p1 @ w["w1"][i] + w["b1"][i]
            h1 = np.maximum(z1, 0) if self.relu[i] else np.tanh(z1)
            padded = np.full((len(p1), 144, 12), -1.0, dtype=np.float32)
            padded[:, self.inner] = h1
            z2 = padded[:, self.idx2].reshape(len(p1), 16, 300) @ w["w2"][i] + w["b2"][i]
            h2 = np.maximum(z2, 0) if self.relu[i] else np.tanh(z2)
            z3 = h2.transpose(0, 2, 1).reshape(len(p1), 192) @ w["w3"][i] + w["b3"][i]
            h3 = np.maximum(z3, 0) if self.relu[i] else np.tanh(z3)
            out.append(((h3 @ w["w4"][i] + w["b4"][i]).argmax(1) != y).mean())
        return np.array(out)


def windows(x: torch.Tensor) -> np.ndarray:
    """Input windows ``(N, 64, 25)`` float32 of images ``(N, 1, 16, 16)``."""
    from course_utils.lecun1989 import _WINDOWS_H1

    padded = torch.nn.functional.pad(x[:, 0], (2, 2, 2, 2), value=-1.0).reshape(len(x), 400)
    return padded[:, _WINDOWS_H1].numpy().astype(np.float32)


def train_lockstep(runs: list[tuple], data: Data1989, passes: int, max_steps=None) -> dict:
    """Train ``runs`` = [(setting, lr, seed)] (one optimiser) per example; error curves per run."""
    k = len(runs)
    adamw = runs[0][0].adamw
    if any(s.adamw != adamw for s, _, _ in runs):
        raise ValueError("a lockstep bank needs one optimiser")
    net = Net1989(h2_mask(), n_models=k, init=INIT, seed=[seed for _, _, seed in runs])
    bank = Lockstep(net, relu=[s.relu for s, _, _ in runs], cross_entropy=[s.cross_entropy for s, _, _ in runs],
                    dropout=[0.25 if s.dropout else 0.0 for s, _, _ in runs], shifts=[s.shifts for s, _, _ in runs],
                    lr=[lr for _, lr, _ in runs], adamw=adamw, seed=sum(seed for _, _, seed in runs) + 7 * k)
    n = len(data.y_train)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]  # offsets[4] = (0, 0)
    shifted = np.stack([windows(shift(data.x_train, torch.tensor([o] * n), -1.0)) for o in offsets])  # (9, N, 64, 25)
    p_test, y_test = windows(data.x_test), data.y_test.numpy()
    y_train = data.y_train.numpy()
    orders = [np.random.default_rng(seed) for _, _, seed in runs]
    shift_rng = np.random.default_rng(1 + sum(seed for _, _, seed in runs))
    total = passes * n if max_steps is None else min(max_steps, passes * n)
    curves = [bank.errors(p_test, y_test)]
    step = 0
    rows = np.arange(k)
    for _ in range(passes):
        order = np.stack([g.permutation(n) for g in orders])                    # (K, n)
        pick = np.where(bank.shifts[:, None], shift_rng.integers(0, 9, size=(k, n)), 4)
        for j in range(n):
            if step >= total:
                break
            idx = order[:, j]
            factor = 1 - 0.9 * step / max(total - 1, 1) if adamw else 1.0      # AdamW: decay linearly to 1/10
            bank.step(shifted[pick[rows, j], idx], y_train[idx], factor)
            step += 1
        curves.append(bank.errors(p_test, y_test))
        if step >= total:
            break
    curves = np.stack(curves, 1)
    return {"curves": curves, "train_error": bank.errors(windows(data.x_train), y_train)}


def run_bank(args) -> list[dict]:
    """Train one bank: ``runs`` = [(setting, lr, seed)], all with the same optimiser (and AdamW rate)."""
    runs, data, passes, max_steps = args
    torch.set_num_threads(int(os.environ.get("COURSE_NUM_THREADS", "1")))
    result = train_lockstep(runs, data, passes, max_steps)
    return [{"key": setting_key(s), "lr": lr, "seed": seed, "error": round(float(result["curves"][i, -1]), 4),
             "train_error": round(float(result["train_error"][i]), 4),
             "curve": [round(float(v), 4) for v in result["curves"][i]]}
            for i, (s, lr, seed) in enumerate(runs)]


def make_banks(runs: list[tuple], size: int = 13) -> list[list[tuple]]:
    """Runs with the same optimiser train together (each copy has its own learning rate), at most ``size``
    to a bank, so that the banks spread over worker processes."""
    banks = []
    for group in ([r for r in runs if not r[0].adamw], [r for r in runs if r[0].adamw]):
        parts = max(1, -(-len(group) // size))
        banks += [group[i::parts] for i in range(parts) if group[i::parts]]
    return banks


def train_all(runs: list[tuple], data: Data1989, passes: int, max_steps, workers: int, what: str) -> list[dict]:
    banks = make_banks(runs)
    start = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run_bank, [(bank, data, passes, max_steps) for bank in banks]))
    else:
        parts = []
        for bank in banks:
            parts.append(run_bank((bank, data, passes, max_steps)))
            print(f"  {what}: bank of {len(bank)} done after {time.perf_counter() - start:.0f} s", flush=True)
    return [r for part in parts for r in part]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--workers", type=int, default=1, help="banks trained in parallel processes")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 10 steps per run: a smoke test")
    args = parser.parse_args(argv)
    seeds = tuple(range(2 if args.quick else args.seeds))
    tune_seeds = TUNE_SEEDS[:1] if args.quick else TUNE_SEEDS
    passes, max_steps = (1, 10) if args.quick else (PASSES, None)
    all_settings = settings()
    data = load_digits_1989(n_test=N_TEST, seed=0)
    tune_data = split_validation(data)
    start = time.perf_counter()

    # 1. a learning rate per setting, on the validation split
    grid = {setting_key(s): (ADAMW_LRS if s.adamw else SGD_LRS) for s in all_settings}
    tuning = train_all([(s, lr, seed) for s in all_settings for lr in grid[setting_key(s)] for seed in tune_seeds],
                       tune_data, passes, max_steps, args.workers, "tuning")
    validation, chosen = {}, {}
    for s in all_settings:
        key = setting_key(s)
        errors = {lr: [r["error"] for r in tuning if r["key"] == key and r["lr"] == lr] for lr in grid[key]}
        validation[key] = {str(lr): round(float(np.mean(e)), 4) for lr, e in errors.items()}
        chosen[key] = min(grid[key], key=lambda lr: (np.mean(errors[lr]), lr))
    tune_time = time.perf_counter() - start

    # 2. every setting with its rate, on all training images, tested once
    final = train_all([(s, chosen[setting_key(s)], seed) for s in all_settings for seed in seeds], data, passes,
                      max_steps, args.workers, "final runs")
    runs = {}
    for s in all_settings:
        key = setting_key(s)
        mine = sorted((r for r in final if r["key"] == key), key=lambda r: r["seed"])
        runs[key] = {"lr": chosen[key], "validation_error": validation[key],
                     "test_error": [r["error"] for r in mine], "train_error": [r["train_error"] for r in mine],
                     "curves": [r["curve"] for r in mine]}
    meta = {"data": data.name, "n_train": len(data.y_train), "n_test": len(data.y_test),
            "n_fit": len(tune_data.y_train), "n_val": len(tune_data.y_test), "passes": passes,
            "batch_size": BATCH, "sgd_lrs": list(SGD_LRS), "adamw_lrs": list(ADAMW_LRS),
            "tune_seeds": list(tune_seeds), "seeds": list(seeds), "init": INIT, "changes": CHANGES,
            "torch_version": torch.__version__, "tuning_time_s": round(tune_time, 1),
            "wall_time_s": round(time.perf_counter() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "runs": runs}, separators=(",", ":")) + "\n")
    for key, run in runs.items():
        e = np.array(run["test_error"]) * 100
        val = "  ".join(f"{lr}: {100 * v:.1f}%" for lr, v in run["validation_error"].items())
        print(f"{key:45s} lr {run['lr']:<7g} test error {e.mean():5.2f}% (seeds: {' '.join(f'{v:.1f}' for v in e)})"
              f"   validation: {val}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {meta['wall_time_s']} s")
    return {"meta": meta, "runs": runs}


if __name__ == "__main__":
    main()
