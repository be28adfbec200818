"""The full-fidelity transfer curve of notebook 07 -> course_utils/assets/transfer_results.json.

    COURSE_NUM_THREADS=1 nice -n 10 python tools/transfer_curve.py

Runs course_utils.transfer.run_grid for
  * digits:   4 strategies x labels per class (1, 2, 5, 10, 20, 50) x augmentation off/on x 3 seeds
  * textures: 4 strategies x labels per class x augmentation off x 3 seeds
and stores one row per run (a few tens of kB). The notebook plots it, reruns a reduced grid live,
and its widget browses it. Prints the mean accuracy table (strategy x labels per class).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from course_utils.pretrained import CHECKPOINT_SHA256  # noqa: E402
from course_utils.transfer import LABELS_PER_CLASS, RESULTS, STRATEGIES, run_grid, summarise  # noqa: E402

STEPS = 100


def table(summary: dict, target: str, augment: bool) -> str:
    lines = [f"{target}, augmentation {'on' if augment else 'off'}: mean test accuracy ± std over seeds",
             f"{'strategy':32s}" + "".join(f"{k:>14d}" for k in LABELS_PER_CLASS)]
    for st, name in STRATEGIES.items():
        cells = []
        for k in LABELS_PER_CLASS:
            m = summary.get((target, st, k, augment))
            cells.append(f"{m[0]:.3f} ± {m[1]:.3f}" if m else "-")
        lines.append(f"{name:32s}" + "".join(f"{c:>14s}" for c in cells))
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per setting")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("COURSE_NUM_THREADS", "1")))
    start = time.perf_counter()
    rows = run_grid("digits", seeds=tuple(range(args.seeds)), augment=(False, True), steps=STEPS)
    rows += run_grid("textures", seeds=tuple(range(args.seeds)), augment=(False,), steps=STEPS)
    meta = {"steps": STEPS, "labels_per_class": list(LABELS_PER_CLASS), "strategies": STRATEGIES,
            "checkpoint_sha256": CHECKPOINT_SHA256, "torch_version": torch.__version__,
            "wall_time_s": round(time.perf_counter() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, separators=(",", ":")) + "\n")
    summary = summarise(rows)
    for target, aug in [("digits", False), ("digits", True), ("textures", False)]:
        print(table(summary, target, aug), end="\n\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {meta['wall_time_s']} s")
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main()
