"""Time the faithful 1989 reproduction of notebook 10 on ONE CPU core, and (optionally) the autograd version.

The paper's recipe on the offline digits (1,297 training / 500 test images): tanh, MSE on +-1 targets,
per-example SGD (lr 0.03), 23 passes = 29,831 weight updates, with ``course_utils.lecun1989.train_1989``
(the lean NumPy loop the notebook uses). ``--autograd`` also times ``train_bank`` (the same maths through
PyTorch's autograd) for ``--autograd-passes`` passes and extrapolates. Prints wall-clock and CPU time
(CPU time is the better figure on a shared machine) and the errors reached. Not a test: run it alone on an
idle machine for numbers worth quoting.

    .venv/bin/python benchmarks/lecun1989.py
    .venv/bin/python benchmarks/lecun1989.py --autograd --autograd-passes 1
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from lecun1989_ablation import h2_mask  # noqa: E402

from course_utils.lecun1989 import PAPER, Net1989, load_digits_1989, train_1989, train_bank  # noqa: E402


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=PAPER["passes"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--autograd", action="store_true", help="also time train_bank (autograd)")
    parser.add_argument("--autograd-passes", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = load_digits_1989(n_test=500, seed=0)
    steps = args.passes * len(data.y_train)
    net = Net1989(h2_mask(), init="sqrt", seed=args.seed)
    history, wall, cpu = timed(lambda: train_1989(net, data, passes=args.passes, seed=args.seed, progress=False))
    print(f"train_1989, {args.passes} passes ({steps:,} steps), 1 thread: wall {wall:.1f} s, CPU {cpu:.1f} s "
          f"({1e6 * cpu / steps:.0f} us CPU per step)")
    print(f"  training error {100 * history.train_error[0, -1]:.2f}%, test error {100 * history.test_error[0, -1]:.2f}%")
    out = {"lean_wall_s": wall, "lean_cpu_s": cpu, "test_error": float(history.test_error[0, -1])}
    if args.autograd:
        net = Net1989(h2_mask(), init="sqrt", seed=args.seed)
        _, wall, cpu = timed(lambda: train_bank(net, data, passes=args.autograd_passes, seeds=args.seed,
                                                progress=False))
        per = cpu / (args.autograd_passes * len(data.y_train))
        print(f"train_bank (autograd), {args.autograd_passes} pass(es): wall {wall:.1f} s, CPU {cpu:.1f} s "
              f"({1e6 * per:.0f} us CPU per step; {per * steps:.0f} s CPU for {args.passes} passes)")
        out.update(autograd_cpu_per_step_s=per)
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min)")
    return out


if __name__ == "__main__":
    main()
