"""The ablation of notebook 10 -> course_utils/assets/lecun1989_ablation.json.

    COURSE_NUM_THREADS=1 nice -n 10 python tools/lecun1989_ablation.py          # about 1 CPU-minute per bank
    python tools/lecun1989_ablation.py --quick --out /tmp/x.json                # seconds: a smoke test

Trains the 1989 network (course_utils.lecun1989.Net1989, the paper's sizes, weights uniform in
+-2.4/sqrt(fan_in)) on the offline digits (1,297 training / 500 test images) in these
settings, each over SEEDS seeds (seed s: the same initial weights and the same order of examples in every
setting):

* the 1989 recipe (tanh, MSE on +-1 targets, SGD);
* each modern change alone: cross-entropy, AdamW + schedule, +-1 pixel shifts, dropout, ReLU;
* all five changes together.

Two differences from the paper, for every setting alike: a step averages the gradient of BATCH = 32
examples (SGD lr 0.3; AdamW lr 1e-3) instead of one, and training stops after PASSES = 10 passes instead of
23 (400 steps instead of 29,831). Trained one example at a time for 23 passes, the 21 networks need more than
an hour of CPU on the course's shared 2-core machine. The notebook's live run of the 1989 recipe is the
faithful one.

The networks train in three banks (lockstep, one process each). Stores, per setting,
the test error of every seed and its curve (test error after every pass); prints the table.
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
    CHANGES,
    RESULTS,
    Net1989,
    Setting,
    load_digits_1989,
    setting_key,
    train_bank,
)

SEEDS = 3
PASSES = 10  # the paper: 23 (see the module docstring)
N_TEST = 500
INIT = "sqrt"
BATCH = 32  # examples per step (the paper: 1; see the module docstring)
SGD_LR = 0.3  # the best of 0.03 / 0.3 / 1 for minibatches in notebook 10's first practical tip
ADAMW_LR = 1e-3  # Karpathy's 3e-4 was for one example per step


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


def banks(all_settings: list[Setting]) -> list[list[Setting]]:
    """Settings trained together (one optimiser per bank), small enough to run in parallel."""
    sgd = [s for s in all_settings if not s.adamw]
    return [sgd[:3], sgd[3:], [s for s in all_settings if s.adamw]]


def run_bank(args) -> dict:
    bank, seeds, passes, n_test, max_steps = args
    torch.set_num_threads(int(os.environ.get("COURSE_NUM_THREADS", "1")))
    data = load_digits_1989(n_test=n_test, seed=0)
    runs = [(s, seed) for s in bank for seed in seeds]
    net = Net1989(h2_mask(), n_models=len(runs), init=INIT, seed=[seed for _, seed in runs],
                  activation=["relu" if s.relu else "tanh" for s, _ in runs],
                  dropout=[0.25 if s.dropout else 0.0 for s, _ in runs])
    optimizer = "adamw" if bank[0].adamw else "sgd"
    history = train_bank(net, data, passes=passes, optimizer=optimizer, shift_fn=shift, batch_size=BATCH,
                         lr=ADAMW_LR if optimizer == "adamw" else SGD_LR,
                         cross_entropy=[s.cross_entropy for s, _ in runs], shifts=[s.shifts for s, _ in runs],
                         seeds=[seed for _, seed in runs], progress=False, max_steps=max_steps)
    out = {}
    for i, (s, _) in enumerate(runs):
        entry = out.setdefault(setting_key(s), {"test_error": [], "train_error": [], "curves": []})
        entry["test_error"].append(round(float(history.test_error[i, -1]), 4))
        entry["train_error"].append(round(float(history.train_error[i, -1]), 4))
        entry["curves"].append([round(float(v), 4) for v in history.test_error[i]])
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 1 pass of 10 steps: a smoke test")
    args = parser.parse_args(argv)
    seeds = tuple(range(2 if args.quick else args.seeds))
    passes, max_steps = (1, 10) if args.quick else (PASSES, None)
    all_settings = settings()
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=3) as pool:
        parts = list(pool.map(run_bank, [(bank, seeds, passes, N_TEST, max_steps) for bank in banks(all_settings)]))
    runs = {k: v for part in parts for k, v in part.items()}
    runs = {setting_key(s): runs[setting_key(s)] for s in all_settings}  # table order
    data = load_digits_1989(n_test=N_TEST, seed=0)
    meta = {"data": data.name, "n_train": len(data.y_train), "n_test": len(data.y_test), "passes": passes,
            "batch_size": BATCH, "sgd_lr": SGD_LR, "adamw_lr": ADAMW_LR,
            "seeds": list(seeds), "init": INIT, "changes": CHANGES,
            "torch_version": torch.__version__, "wall_time_s": round(time.perf_counter() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "runs": runs}, separators=(",", ":")) + "\n")
    for key, run in runs.items():
        e = np.array(run["test_error"]) * 100
        print(f"{key:45s} test error {e.mean():5.2f}% (seeds: {' '.join(f'{v:.2f}' for v in e)})")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {meta['wall_time_s']} s")
    return {"meta": meta, "runs": runs}


if __name__ == "__main__":
    main()
