"""Measure how the torch intra-op thread count affects the course's typical workload.

The course trains small MLPs/CNNs on tiny data sets. This script times a fixed number of
training steps of such models with 1 and 2 (or more) threads, alone and with a competing
CPU-bound process (as when tests run in parallel), and prints a table. Its figures decide the
thread policy in ``course_utils.reproducibility``.

Run: ``.venv/bin/python benchmarks/threads.py``
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time


def _burn(stop):  # a competing CPU-bound process
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x += i * i


def _time_workload(threads: int, kind: str, steps: int) -> float:
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), *[m for _ in range(8) for m in (nn.Linear(128, 128), nn.ReLU())], nn.Linear(128, 10))
        x = torch.randn(128, 64)
    elif kind == "wide_mlp":
        model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
        x = torch.randn(256, 784)
    else:  # small CNN on 28x28
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 10))
        x = torch.randn(128, 1, 28, 28)
    y = torch.randint(0, 10, (x.shape[0],))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(5):  # warm-up
        opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    ncpu = os.cpu_count() or 1
    print(f"cpus={ncpu}")
    print(f"{'workload':10s} {'load':6s} " + " ".join(f"{t:>3d} thr (s)" for t in (1, 2)))
    for load in (False, True):
        stop = mp.Event()
        burner = mp.Process(target=_burn, args=(stop,), daemon=True) if load else None
        if burner:
            burner.start()
        for kind in ("mlp", "wide_mlp", "cnn"):
            times = []
            for threads in (1, 2):
                ctx = mp.get_context("spawn")
                with ctx.Pool(1) as pool:
                    times.append(pool.apply(_time_workload, (threads, kind, args.steps)))
            print(f"{kind:10s} {'busy' if load else 'idle':6s} " + " ".join(f"{t:12.2f}" for t in times), flush=True)
        if burner:
            stop.set(); burner.join()


if __name__ == "__main__":
    main()
