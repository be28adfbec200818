"""`make lab` in a given checkout serves its student notebooks: checked through JupyterLab's HTTP API.

Used for this repository (test_make_lab.py), for a fresh copy installed with Debian's Python
(test_install.py) and for the student-only repository that `make student-repo` writes (test_student_repo.py).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


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
