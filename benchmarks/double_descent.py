"""Batched width sweep versus the one-model-at-a-time loop, on identical settings, in one run.

Both train UDL notebook 8.3's MLPs (40 -> w -> w -> 10, SGD lr 0.01 momentum 0.9, batches of
100) on MNIST-1D with 15% label noise, from the same initial weights and with the same
mini-batch order, for the same widths and epochs, and check that they end with the same
losses. It prints both wall-clock and CPU times and their ratio, and (with ``--ratios``) the
batched time for several groupings (``group_widths(max_ratio)``: 1 = one group per width,
inf = everything padded to the largest width). Not a test: timings depend on the machine and
its load; run it alone on an idle machine for numbers worth quoting.

    COURSE_NUM_THREADS=1 .venv/bin/python benchmarks/double_descent.py              # 28 widths, 3 epochs
    .venv/bin/python benchmarks/double_descent.py --epochs 1 --ratios 1 1.5 2.2 3 inf
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.data import add_label_noise, make_mnist1d  # noqa: E402
from course_utils.double_descent import group_widths, train_one_at_a_time, train_width_sweep  # noqa: E402
from course_utils.reproducibility import configure_threads, device  # noqa: E402

WIDTHS = [2, 4, 6, 8, 10, 14, 18, 22, 26, 30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 100, 120, 140, 160, 180, 200,
          250, 300, 400]


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--group-ratio", type=float, default=2.2)
    parser.add_argument("--ratios", type=float, nargs="*", default=[], help="also time these groupings")
    parser.add_argument("--num-train", type=int, default=4000)
    args = parser.parse_args(argv)
    threads = configure_threads()
    dev = device(verbose=False)
    data = make_mnist1d(num_samples=2 * args.num_train, train_split=0.5, seed=42)
    y, _ = add_label_noise(data["y_train"], 0.15, num_classes=10, seed=0)
    common = dict(epochs=args.epochs, seed=0, device=dev, progress=False)
    print(f"{len(WIDTHS)} widths, {args.epochs} epochs, {len(y)} training examples, {dev.type}, "
          f"{threads} torch thread(s); load average {os.getloadavg()[0]:.2f}")
    # warm-up (first calls allocate and pick kernels), so neither side pays it in the timings
    train_width_sweep(data["x_train"][:200], y[:200], data["x_test"][:200], data["y_test"][:200], WIDTHS,
                      epochs=1, seed=0, device=dev, progress=False, log_epochs=[1])
    train_one_at_a_time(data["x_train"][:200], y[:200], data["x_test"][:200], data["y_test"][:200], WIDTHS,
                        epochs=1, seed=0, device=dev, progress=False)
    batched, b_wall, b_cpu = timed(lambda: train_width_sweep(
        data["x_train"], y, data["x_test"], data["y_test"], WIDTHS, groups=group_widths(WIDTHS, args.group_ratio),
        log_epochs=[args.epochs], **common))
    loop, l_wall, l_cpu = timed(lambda: train_one_at_a_time(data["x_train"], y, data["x_test"], data["y_test"],
                                                            WIDTHS, **common))
    diff = float(np.max(np.abs(batched["test_loss"][-1] - loop["test_loss"][-1])))
    print(f"one at a time : {l_wall:7.1f} s wall, {l_cpu:7.1f} s CPU")
    print(f"batched (r={args.group_ratio:g}): {b_wall:7.1f} s wall, {b_cpu:7.1f} s CPU")
    print(f"speed-up (loop / batched): {l_wall / b_wall:.2f}x wall, {l_cpu / b_cpu:.2f}x CPU; "
          f"largest test-loss difference {diff:.1e}")
    for ratio in args.ratios:
        _, wall, cpu = timed(lambda: train_width_sweep(
            data["x_train"], y, data["x_test"], data["y_test"], WIDTHS, groups=group_widths(WIDTHS, ratio),
            log_epochs=[args.epochs], **common))
        print(f"  grouping max_ratio={ratio:g} ({len(group_widths(WIDTHS, ratio))} groups): {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
