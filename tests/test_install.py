"""Installs on every Python the course claims (tools/python_range.py reads pyproject.toml's requires-python).

- An unsupported Python stops `make setup` with one line that names the supported versions.
- The lock (constraints.txt, with environment markers) resolves for every supported Python (tools/lock.py
  check: metadata from PyPI only, no CUDA wheels downloaded), and the check fails on a lock that does not.
- The real install with Debian's own /usr/bin/python3 is tests/test_student_repo.py's: the student repository
  set up, `make lab` and `make test-fast` run there with it, and the instructor's extra packages resolved by its
  pip (one install for both; the second, instructor-side install of a fresh copy that was here took 152 s of
  idle CI and 89 CPU-s).
  (The default python3 is what the rest of `make test` runs on.)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fresh_checkout import REPO, load_tool


def _python_range(*args: str, python: str = sys.executable) -> subprocess.CompletedProcess:
    return subprocess.run([python, str(REPO / "tools" / "python_range.py"), *args], capture_output=True, text=True)


SUPPORTED = _python_range("versions").stdout.split()


def test_supported_range_is_the_one_the_readme_states():
    assert SUPPORTED and SUPPORTED[0] == "3.10" and "3.11" in SUPPORTED and "3.13" in SUPPORTED, SUPPORTED
    readme = (REPO / "README.md").read_text()
    assert f"Python {SUPPORTED[0]}–{SUPPORTED[-1]}" in readme, "README.md must state the range of requires-python"
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in SUPPORTED


def test_unsupported_python_stops_make_setup_with_one_line(tmp_path):
    """`make setup` in a copy whose requires-python excludes this interpreter: one line, no venv."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt", "tools/python_range.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    minor = sys.version_info[1]
    pyproject.write_text(pyproject.read_text().replace(f'requires-python = ">={SUPPORTED[0]},',
                                                       f'requires-python = ">=3.{minor + 1},<3.{minor + 3}"\n#', 1))
    proc = subprocess.run(["make", "--no-print-directory", "setup", f"PYTHON={sys.executable}"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: Python ") and f"3.{minor + 1} or 3.{minor + 2}" in lines[0], proc.stderr
    assert not any("Traceback" in line for line in lines) and not (tmp_path / ".venv").exists()


@pytest.mark.parametrize("python", ["2.7", "3.6", "3.9", "3.14"])
def test_old_and_new_pythons_get_the_one_line(python):
    """Any pyenv interpreter outside the range (when this machine has one) gets the line, not a traceback."""
    found = sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob(f"{python}.*/bin/python"))
    if not found:
        pytest.skip(f"no Python {python} on this machine")
    proc = _python_range(python=str(found[0]))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "is not supported" in proc.stderr, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("version", SUPPORTED)
def test_lock_resolves_for_every_supported_python(version):
    reason = load_tool("lock").check(version)
    assert reason is None, reason


@pytest.mark.slow
def test_lock_check_fails_on_a_lock_valid_for_one_python_only(tmp_path, monkeypatch):
    """The check is real: the old `pip freeze` lock pinned soupsieve 4.1.2, which needs Python >= 3.11.5."""
    lock = load_tool("lock")
    broken = tmp_path / "constraints.txt"
    broken.write_text("".join(line.split(";")[0].rstrip() + "\n" for line in lock.LOCK.read_text().splitlines()
                              if not line.startswith("soupsieve==2.")))
    monkeypatch.setattr(lock, "LOCK", broken)
    reason = lock.check(SUPPORTED[0])
    assert reason is not None and "does not resolve" in reason, reason


def test_locked_nbformat_imports_without_a_grammar_build():
    """tools/lock-policy.txt keeps jsonschema below 4.25: from 4.25 its format-nongpl extra brings
    rfc3987-syntax, which builds a Lark grammar whenever jsonschema is imported (1.7 CPU-s added to each
    nbgrader, nbconvert and Jupyter server process). The lock and the installed environment hold neither."""
    pins = (REPO / "constraints.txt").read_text().lower()
    assert "rfc3987-syntax" not in pins and "\nlark==" not in pins
    code = "import sys, nbformat, jsonschema; print(sorted(m for m in ('rfc3987_syntax', 'lark') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout
