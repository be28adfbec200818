"""`make lab` starts JupyterLab serving notebooks/ (checked through the server's HTTP API)."""
from __future__ import annotations

import pytest
from fresh_checkout import REPO, assert_make_lab_serves

pytestmark = pytest.mark.slow


def test_make_lab_serves_the_student_notebooks():
    assert_make_lab_serves(REPO)
