"""Run the full-fidelity MNIST-1D double-descent sweep and write it to course_utils/assets.

Settings follow UDL notebook 8.3 (Prince, *Understanding Deep Learning*): MNIST-1D with 4000
training and 4000 test examples, 15% of the training labels changed to another class, an MLP
``40 -> w -> w -> 10`` (ReLU, He-uniform weights, zero biases) for 28 hidden widths from 2 to
400, SGD with learning rate 0.01 and momentum 0.9, mini-batches of 100, 1000 epochs. All widths
train at once (course_utils.double_descent.train_width_sweep), on the GPU when there is one.

    COURSE_NUM_THREADS=1 nice -n 10 python tools/double_descent_sweep.py            # full (minutes)
    python tools/double_descent_sweep.py --quick --out /tmp/sweep.npz                 # seconds

The output is a small .npz (arrays documented in train_width_sweep) plus the settings;
``course_utils.double_descent.load_sweep()`` reads it. Partial results are saved after every
recorded epoch, so an interrupted run still leaves a usable file (``complete`` = 0).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.data import add_label_noise, make_mnist1d  # noqa: E402
from course_utils.double_descent import SWEEP_ASSET, group_widths, sweep_to_arrays, train_width_sweep  # noqa: E402
from course_utils.reproducibility import device, seed_everything  # noqa: E402

FULL = dict(num_samples=8000, train_split=0.5, noise=0.15, epochs=1000, lr=0.01, momentum=0.9, batch_size=100,
            widths=[2, 4, 6, 8, 10, 14, 18, 22, 26, 30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 100, 120, 140, 160,
                    180, 200, 250, 300, 400])
QUICK = dict(FULL, num_samples=1000, epochs=3, widths=[2, 8, 32, 64])


def save(path: Path, result: dict, settings: dict, complete: bool) -> None:
    arrays = sweep_to_arrays(result)
    arrays["settings"] = np.asarray(json.dumps(settings))
    arrays["complete"] = np.asarray(int(complete))
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tiny sweep that runs in seconds (for tests)")
    parser.add_argument("--out", type=Path, default=SWEEP_ASSET, help=f"output .npz (default {SWEEP_ASSET})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--group-ratio", type=float, default=2.2,
                        help="largest/smallest width within one padded group (see benchmarks/double_descent.py)")
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    seed_everything(args.seed)
    dev = device(verbose=False)
    data = make_mnist1d(num_samples=cfg["num_samples"], train_split=cfg["train_split"], seed=42)
    y_noisy, _ = add_label_noise(data["y_train"], cfg["noise"], num_classes=10, seed=args.seed)
    settings = dict(cfg, seed=args.seed, group_ratio=args.group_ratio, device=dev.type,
                    num_train=len(y_noisy), num_test=len(data["y_test"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = train_width_sweep(
        data["x_train"], y_noisy, data["x_test"], data["y_test"], cfg["widths"], epochs=cfg["epochs"],
        lr=cfg["lr"], momentum=cfg["momentum"], batch_size=cfg["batch_size"], seed=args.seed,
        groups=group_widths(cfg["widths"], args.group_ratio), device=dev, progress=not args.quick,
        on_log=lambda partial: save(args.out, partial, settings, complete=False),
    )
    save(args.out, result, settings, complete=True)
    final = result["test_error"][-1]
    peak = int(result["widths"][int(np.argmax(final))])
    print(f"{len(cfg['widths'])} widths x {cfg['epochs']} epochs on {dev.type} in {time.perf_counter() - start:.0f} s; "
          f"test error peaks at width {peak} ({final.max():.1f}%); wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
