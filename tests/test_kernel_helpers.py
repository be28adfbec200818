"""tests/kernel_helpers.py: a stuck subprocess is killed with its children and retried."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from kernel_helpers import run_with_retry


def test_returns_the_completed_process():
    proc = run_with_retry([sys.executable, "-c", "print('hi')"], timeout=30)
    assert proc.returncode == 0 and proc.stdout.strip() == "hi"


def test_timeout_kills_the_group_and_retries(tmp_path):
    marker = tmp_path / "runs"
    script = f"import subprocess, time; open({str(marker)!r}, 'a').write('x'); subprocess.Popen(['sleep', '61.5']); time.sleep(60)"
    start = time.time()
    with pytest.raises(AssertionError, match="timed out 2 times"):
        run_with_retry([sys.executable, "-c", script], timeout=2, attempts=2)
    assert time.time() - start < 20
    assert marker.read_text() == "xx"  # ran twice
    deadline = time.time() + 10  # SIGKILL is delivered asynchronously: give a loaded machine a moment
    while time.time() < deadline:
        left = subprocess.run(["pgrep", "-f", "^sleep 61.5$"], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.2)
    assert not left, "the child of the stuck process survived"
