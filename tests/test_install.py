"""Installs on every Python the course claims (tools/python_range.py reads pyproject.toml's requires-python).

- An unsupported Python stops `make setup` with one line that names the supported versions.
- The lock (constraints.txt, with environment markers) resolves for every supported Python (tools/lock.py
  check: metadata from PyPI only, no CUDA wheels downloaded), and the check fails on a lock that does not.
- A real install from a fresh copy with Debian's own /usr/bin/python3, then `make lab` through JupyterLab's
  HTTP API and `make test-fast` there. (The default python3 is what the rest of `make test` runs on.)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fresh_checkout import QUICK_TESTS, REPO, assert_make_lab_serves, copy_checkout, load_tool

DEBIAN_PYTHON = Path("/usr/bin/python3")
DEBIAN_QUICK_TESTS = [*QUICK_TESTS, "tests/test_install.py"]


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


@pytest.mark.slow
@pytest.mark.skipif(not (DEBIAN_PYTHON.exists() and Path("/etc/debian_version").exists()), reason="not Debian")
def test_fresh_copy_installs_and_runs_with_debian_python(tmp_path):
    """Debian 12's python3 (3.11.2): make setup, make lab (HTTP API), quick tests (make test-fast), in a fresh copy."""
    repo = copy_checkout(tmp_path / "course", commit=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("VIRTUAL_ENV", None)
    start = time.monotonic()
    setup = subprocess.run(["make", "--no-print-directory", "setup", f"PYTHON={DEBIAN_PYTHON}"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    version = subprocess.run([str(repo / ".venv/bin/python"), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    debian = subprocess.run([str(DEBIAN_PYTHON), "-c", "import sys; print(sys.version.split()[0])"],
                            capture_output=True, text=True).stdout.strip()
    assert version == debian
    print(f"make setup with Debian's python3 {debian}: {time.monotonic() - start:.0f} s")
    assert_make_lab_serves(repo)
    start = time.monotonic()
    fast = subprocess.run(["make", "--no-print-directory", "test-fast", f"TESTS={' '.join(DEBIAN_QUICK_TESTS)}",
                           "PYTEST_ARGS=-q -p no:cacheprovider"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert fast.returncode == 0, fast.stdout[-5000:] + fast.stderr[-2000:]
    print(f"make test-fast there: {time.monotonic() - start:.0f} s")
