"""The widget tests again under ipywidgets 7.7, the API Colab ships: `make test-widgets7` runs tests/test_widgets.py
in a second, small venv (.venv-widgets7, tests/widgets7-requirements.txt; built here if missing) with
EXPECT_IPYWIDGETS_MAJOR=7. As a test of `make test` it is scheduled with the others instead of after them."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_widget_tests_pass_under_ipywidgets_7():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    proc = subprocess.run(["make", "--no-print-directory", "test-widgets7"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout, proc.stdout[-2000:]
