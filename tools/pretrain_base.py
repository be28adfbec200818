"""Pretrain the course's base network on printed characters and write course_utils/assets/glyphnet.pt.

    COURSE_NUM_THREADS=1 python tools/pretrain_base.py            # the shipped checkpoint
    python tools/pretrain_base.py --quick --out /tmp/quick.pt     # a few seconds: does it still learn?

Source task (see ``course_utils.glyphs``): 36 characters (0-9, a-z with upper and lower case merged) from
matplotlib's fonts with random warps, stroke widths, contrast and noise, prepared like the
scikit-learn digits (8x8 block averages, 17 grey levels, enlarged to 16x16). Three fonts are
held out; the accuracy on them is the reported source-task accuracy.

Seeded and single-threaded by default, so a rerun on the same machine and torch version gives the
same weights. The script prints the checkpoint's SHA-256: paste it into
``course_utils.pretrained.CHECKPOINT_SHA256`` after retraining.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from course_utils.glyphs import CHARACTERS, TEST_FONTS, TRAIN_FONTS, make_glyphs  # noqa: E402
from course_utils.pretrained import CHECKPOINT, GlyphNet, sha256_of  # noqa: E402
from course_utils.reproducibility import seed_everything  # noqa: E402

FULL = dict(n_train=30000, epochs=6, n_test=4000, batch_size=128, lr=3e-3)
QUICK = dict(n_train=3000, epochs=3, n_test=1000, batch_size=64, lr=3e-3)


@torch.no_grad()
def accuracy(model, x, y) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


def pretrain(n_train: int, epochs: int, n_test: int, batch_size: int, lr: float, seed: int = 0,
             progress: bool = True) -> tuple[GlyphNet, dict]:
    """Train a GlyphNet on ``n_train`` fresh character images; return it and its measured numbers."""
    seed_everything(seed)
    start = time.perf_counter()
    x, y = make_glyphs(n_train, seed=seed)
    x_seen, y_seen = make_glyphs(n_test, seed=seed + 1)                       # new warps, training fonts
    x_unseen, y_unseen = make_glyphs(n_test, seed=seed + 2, fonts=TEST_FONTS)  # held-out fonts
    model = GlyphNet(num_classes=len(CHARACTERS))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((n_train + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n_train, generator=g)
        total = 0.0
        for i in range(0, n_train, batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: train loss {total / n_train:.3f}, "
                  f"accuracy on held-out fonts {accuracy(model, x_unseen, y_unseen):.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    model.eval()
    meta = {
        "source_task": "36 printed characters (digits, letters with upper+lower case merged) from matplotlib's fonts",
        "num_classes": len(CHARACTERS),
        "classes": CHARACTERS,
        "train_fonts": list(TRAIN_FONTS),
        "test_fonts": list(TEST_FONTS),
        "n_train": n_train,
        "epochs": epochs,
        "seed": seed,
        "accuracy_seen_fonts": round(accuracy(model, x_seen, y_seen), 4),
        "accuracy_unseen_fonts": round(accuracy(model, x_unseen, y_unseen), 4),
        "torch_version": str(torch.__version__),
    }
    return model, meta


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run (seconds) for the unit test")
    parser.add_argument("--out", type=Path, default=None, help=f"checkpoint path (default {CHECKPOINT})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("COURSE_NUM_THREADS", "1")))
    settings = QUICK if args.quick else FULL
    out = args.out or CHECKPOINT
    start = time.perf_counter()
    model, meta = pretrain(**settings, seed=args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "meta": meta}, out)  # no timings: same run, same bytes
    meta = dict(meta, wall_time_s=round(time.perf_counter() - start, 1))
    meta["sha256"] = sha256_of(out)
    meta["size_bytes"] = out.stat().st_size
    print(json.dumps(meta, indent=1))
    return meta


if __name__ == "__main__":
    main()
