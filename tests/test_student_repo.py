"""`make student-repo DEST=...`: the student-only repository, scanned, and working on its own.

It is written from HEAD (in CI, the fresh clone). There: no instructor file, no finding of the scan over every
file, then its own `make lab` (JupyterLab's HTTP API) and its student-side quick tests (QUICK_TESTS) pass. The
scan itself is checked to catch answer content in a file type other than notebooks.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fresh_checkout import QUICK_TESTS, REPO, assert_make_lab_serves, load_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def student_repo(tmp_path_factory):
    dest = tmp_path_factory.mktemp("students") / "course-students"
    proc = subprocess.run(["make", "--no-print-directory", "student-repo", f"DEST={dest}"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest


def test_student_repo_holds_only_the_student_side(student_repo):
    files = subprocess.run(["git", "ls-files"], cwd=student_repo, check=True, capture_output=True,
                           text=True).stdout.splitlines()
    log = subprocess.run(["git", "log", "--oneline"], cwd=student_repo, check=True, capture_output=True,
                         text=True).stdout.splitlines()
    assert len(log) == 1, "no history: one commit"
    assert "notebooks/00_welcome/00_welcome.ipynb" in files and "course_utils/checks.py" in files
    assert "tests/test_checks.py" in files and "Makefile" in files and "constraints.txt" in files
    for prefix in ("solutions/", "lessons/", "instructor/", "tests/cases/", "tests/hostile", "benchmarks/",
                   "tests/test_grading", "tests/test_nbgrader_roundtrip", "nbgrader_config.py"):
        assert not any(f.startswith(prefix) for f in files), prefix
    assert load_tool("leak_scan").scan([student_repo]) == []


def test_scan_reads_every_file_type(tmp_path):
    """A solution line in a Markdown file, a hidden-test marker in a text file and a graded name in Python."""
    leak_scan = load_tool("leak_scan")
    answer_line = "return probs.mean(0), probs.std(0, correction=0)"  # 06's MC dropout answer
    assert answer_line in leak_scan.answers().lines
    (tmp_path / "notes.md").write_text(f"    {answer_line}\n")
    (tmp_path / "data.txt").write_text("### BEGIN HIDDEN TESTS\n")
    (tmp_path / "helpers.py").write_text("def mc_dropout_predict(model, x, n_samples=100):\n    pass\n")
    (tmp_path / "clean.csv").write_text("a,b\n1,2\n")
    problems = leak_scan.scan([tmp_path])
    assert {Path(p.split(":")[0]).name for p in problems} == {"notes.md", "data.txt", "helpers.py"}, problems


def test_student_repo_make_lab_and_tests_work_there(student_repo):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("VIRTUAL_ENV", None)
    setup = subprocess.run(["make", "--no-print-directory", "setup"], cwd=student_repo, env=env,
                           capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert_make_lab_serves(student_repo)
    fast = subprocess.run(["make", "--no-print-directory", "test-fast", f"TESTS={' '.join(QUICK_TESTS)}",
                           "PYTEST_ARGS=-q -p no:cacheprovider"],
                          cwd=student_repo, env=env, capture_output=True, text=True, timeout=900)
    assert fast.returncode == 0, fast.stdout[-5000:] + fast.stderr[-2000:]
    assert " passed" in fast.stdout
