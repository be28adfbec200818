"""`make student-repo DEST=...`: the student-only repository, scanned, and working on its own.

It is written from HEAD (in CI, the fresh clone). There: no instructor file, no finding of the scan over every
file, then its own `make setup` -- on Debian with Debian's own /usr/bin/python3, as a student on Debian 12 runs
it --, `make lab` (JupyterLab's HTTP API) and its student-side quick tests (QUICK_TESTS) pass. The scan itself
is checked to catch answer content in a file type other than notebooks.

That one install is also the course's "installs with Debian's Python" check (it was a second, instructor-side
install of its own in tests/test_install.py): the student side is installed and run with Debian's python3, and
the instructor's extra packages (extras instructor and site, and instructor/) are resolved by that same
interpreter's pip against the lock (a dry run: every pin has a distribution for Debian's Python and platform).
"""
from __future__ import annotations

import json
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


DEBIAN_PYTHON = Path("/usr/bin/python3")
ON_DEBIAN = DEBIAN_PYTHON.exists() and Path("/etc/debian_version").exists()
#: The Python that sets the student repository up: Debian's own where this is Debian, as a student on Debian runs it.
STUDENT_PYTHON = str(DEBIAN_PYTHON) if ON_DEBIAN else "python3"


def _version(python: str) -> str:
    return subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def student_setup(student_repo):
    """`make setup` in the student repository with STUDENT_PYTHON: (repo, env)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("VIRTUAL_ENV", None)
    setup = subprocess.run(["make", "--no-print-directory", "setup", f"PYTHON={STUDENT_PYTHON}"], cwd=student_repo,
                           env=env, capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    return student_repo, env


def test_student_repo_make_lab_and_tests_work_there(student_setup):
    student_repo, env = student_setup
    assert _version(str(student_repo / ".venv/bin/python")) == _version(STUDENT_PYTHON)
    assert_make_lab_serves(student_repo)
    fast = subprocess.run(["make", "--no-print-directory", "test-fast", f"TESTS={' '.join(QUICK_TESTS)}",
                           "PYTEST_ARGS=-q -p no:cacheprovider"],
                          cwd=student_repo, env=env, capture_output=True, text=True, timeout=900)
    assert fast.returncode == 0, fast.stdout[-5000:] + fast.stderr[-2000:]
    assert " passed" in fast.stdout


@pytest.mark.skipif(not ON_DEBIAN, reason="not Debian")
def test_instructor_packages_resolve_for_debian_python(student_setup, tmp_path):
    """The instructor's install on top of the student side, with Debian's python3 (the venv above): pip's dry
    run resolves the instructor and site extras and instructor/ against the lock for that interpreter."""
    student_repo, env = student_setup
    report = tmp_path / "report.json"
    proc = subprocess.run([str(student_repo / ".venv/bin/python"), "-m", "pip", "install", "--dry-run", "--quiet",
                           "--disable-pip-version-check", "--report", str(report), "-c", str(REPO / "constraints.txt"),
                           "-e", f"{REPO}[lab,test,instructor,site]", "-e", str(REPO / "instructor")],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    plan = json.loads(report.read_text())
    assert plan["environment"]["python_full_version"] == _version(str(DEBIAN_PYTHON))
    names = {item["metadata"]["name"].lower().replace("_", "-") for item in plan["install"]}
    # What only the instructor installs (nbgrader and jupytext are the student side's test extra too).
    assert {"course-instructor", "distributed", "sphinx", "myst-nb", "furo"} <= names, sorted(names)
