"""A fresh copy of this checkout, and `make lab` in a checkout checked through JupyterLab's HTTP API.

Used for this repository (test_make_lab.py), for building the student package (test_student_package.py) and
for the student-only repository that `make student-repo` writes, installed with Debian's Python
(test_student_repo.py).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The quick tests run in a fresh copy (make test-fast TESTS=...): the compiled packages (numpy, torch, matplotlib,
# scikit-learn), widgets and the exercise checks; all of `make test-fast` takes several minutes more on 2 cores.
QUICK_TESTS = ["tests/test_checks.py", "tests/test_widgets.py", "tests/test_plots.py", "tests/test_nets.py",
               "tests/test_reproducibility.py", "tests/test_data.py"]


def load_tool(name: str):
    """Import tools/<name>.py (the tools folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"course_tools_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def copy_checkout(dest: Path, commit: bool = False) -> Path:
    """The files a fresh clone of this checkout has (tracked, plus new files git does not ignore): no build/,
    .venv or caches, so whatever is built there is built from the sources alone. ``commit``: make it a git
    repository with those files committed, like a clone (its own tests list files with git)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           check=True, capture_output=True).stdout.split(b"\0")
    for name in map(os.fsdecode, filter(None, files)):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    if commit:
        git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-c", "init.defaultBranch=main"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "fresh copy"]):
            subprocess.run([*git, *args], cwd=dest, check=True, capture_output=True)
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_make_lab_serves(repo: Path, *make_args: str, startup_s: float = 90) -> None:
    """Run ``make lab`` in ``repo`` (set up already, or it sets up within ``startup_s``) and check the API."""
    port, token = _free_port(), "course-test-token"
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} --ServerApp.open_browser=False"
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}", *make_args], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        listing, deadline = None, time.time() + startup_s
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
                    listing = json.load(r)
                    break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer:\n" + (proc.stdout.read() if proc.poll() is not None else "")
        names = {item["name"] for item in listing["content"]}
        expected = {p.name for p in (repo / "notebooks").iterdir() if p.is_dir()}
        assert expected and expected <= names, f"served {names}, expected the folders of notebooks/ {expected}"
        # The lab UI itself is served, and a student notebook opens through the API.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/00_welcome/00_welcome.ipynb?token={token}", timeout=10) as r:
            assert json.load(r)["type"] == "notebook"
        # The notebooks' kernel runs this checkout's environment.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs?token={token}", timeout=10) as r:
            argv = json.load(r)["kernelspecs"]["python3"]["spec"]["argv"]
        assert argv[0].startswith(str(repo / ".venv")), f"the python3 kernel runs {argv[0]}, not {repo}/.venv"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass  # already exited
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
