"""course_utils.reproducibility: seeding, fast mode, thread policy, device choice."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from course_utils import reproducibility as rep


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(()))

    rep.seed_everything(123)
    first = draw()
    rep.seed_everything(123)
    assert draw() == first
    rep.seed_everything(124)
    assert draw() != first


def test_seed_everything_sets_the_deterministic_flags_without_loading_the_compiler():
    """Both of torch's deterministic switches are on, yet ``torch._inductor`` (~800 modules, 1.5-2.9 CPU-s
    per kernel) is not imported; the compiler, when something loads it later, reads its switch too."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from course_utils.reproducibility import seed_everything\n"
        "seed_everything(0)\n"
        "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),"
        " 'torch._inductor' in sys.modules)\n"
        "import torch._inductor.config as c\n"
        "print(c.deterministic)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True).stdout
    assert out.split() == ["True", "True", "False", "True"], out


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "3", True])
def test_seed_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="seed"):
        rep.seed_everything(bad)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, False),
        ({"CI": "true"}, True),
        ({"CI": "true", "COURSE_FAST": "0"}, False),
        ({"COURSE_FAST": "1"}, True),
        ({"NBGRADER_EXECUTION": "autograde", "COURSE_FAST": "0"}, True),
        ({"CI": "false"}, False),
    ],
)
def test_fast_mode(monkeypatch, env, expected):
    for name in ("CI", "COURSE_FAST", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert rep.fast_mode() is expected
    assert rep.pick(full="full", fast="fast") == ("fast" if expected else "full")


def test_thread_policy(monkeypatch):
    before = torch.get_num_threads()
    try:
        for name in ("CI", "NBGRADER_EXECUTION", "PYTEST_XDIST_WORKER", "COURSE_NUM_THREADS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
        assert rep.configure_threads() == 1
        monkeypatch.setenv("COURSE_NUM_THREADS", "2")
        assert rep.configure_threads() == 2
        monkeypatch.setenv("COURSE_NUM_THREADS", "many")
        with pytest.raises(ValueError, match="COURSE_NUM_THREADS"):
            rep.configure_threads()
        with pytest.raises(ValueError):
            rep.configure_threads(0)
    finally:
        torch.set_num_threads(before)


def test_device_picks_cpu_here_and_says_so(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    dev = rep.device()
    assert dev.type in (expected, "mps")
    assert capsys.readouterr().out.startswith("Using ")
    assert rep.device(verbose=False, prefer="cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="prefer"):
        rep.device(prefer="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="not available"):
            rep.device(prefer="cuda")
