"""course_utils.pretrained: the shipped checkpoint, its checksum, and the pretraining script."""
import importlib.util
import shutil
from pathlib import Path

import pytest
import torch

from course_utils.glyphs import TEST_FONTS, make_glyphs
from course_utils.pretrained import (
    CHECKPOINT,
    CHECKPOINT_SHA256,
    FEATURE_DIM,
    ChecksumError,
    GlyphNet,
    checkpoint_info,
    load_pretrained,
    sha256_of,
)

REPO = Path(__file__).resolve().parent.parent


def test_checkpoint_is_small_and_matches_its_recorded_hash():
    assert CHECKPOINT.stat().st_size <= 2 * 1024 * 1024
    assert sha256_of(CHECKPOINT) == CHECKPOINT_SHA256


def test_load_pretrained_is_accurate_on_held_out_fonts():
    model = load_pretrained()
    assert not model.training
    info = checkpoint_info()
    assert info["num_classes"] == 36 and info["accuracy_unseen_fonts"] > 0.85
    x, y = make_glyphs(400, seed=123, fonts=TEST_FONTS)
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc > 0.85
    assert model.embed(x[:3]).shape == (3, FEATURE_DIM)
    assert load_pretrained() is not model  # a fresh copy each call


def test_corrupted_checkpoint_raises_a_clear_error(tmp_path):
    bad = tmp_path / "glyphnet.pt"
    shutil.copy(CHECKPOINT, bad)
    with open(bad, "r+b") as f:
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumError, match="SHA-256"):
        load_pretrained(bad)
    with pytest.raises(FileNotFoundError, match="pretrain_base"):
        load_pretrained(tmp_path / "missing.pt")


def test_architecture():
    model = GlyphNet(num_classes=10)
    assert model(torch.zeros(2, 1, 16, 16)).shape == (2, 10)
    assert model.head.in_features == FEATURE_DIM and len(model.features) == 3


def test_pretraining_script_quick_mode_still_learns(tmp_path):
    spec = importlib.util.spec_from_file_location("pretrain_base", REPO / "tools" / "pretrain_base.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "a" / "quick.pt"
    meta = script.main(["--quick", "--out", str(out)])
    assert meta["accuracy_unseen_fonts"] > 0.4  # chance is 1/36
    model = load_pretrained(out, sha256=None)
    assert model.head.out_features == 36
    meta2 = script.main(["--quick", "--out", str(tmp_path / "b" / "quick.pt")])
    assert meta2["sha256"] == meta["sha256"]  # seeded: the same run gives the same bytes
    # (torch.save stores the file's stem inside the archive, so compare files of the same name)
