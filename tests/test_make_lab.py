"""`make lab` starts JupyterLab serving notebooks/ (checked through the server's HTTP API)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from roundtrip_helpers import REPO

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_serves_the_student_notebooks():
    port, token = _free_port(), "course-test-token"
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} --ServerApp.open_browser=False"
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        listing, deadline = None, time.time() + 90
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
                    listing = json.load(r)
                    break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer:\n" + (proc.stdout.read() if proc.poll() is not None else "")
        names = {item["name"] for item in listing["content"]}
        expected = {p.name for p in (REPO / "notebooks").iterdir() if p.is_dir()}
        assert expected and expected <= names, f"served {names}, expected the folders of notebooks/ {expected}"
        # The lab UI itself is served, and a student notebook opens through the API.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/00_welcome/00_welcome.ipynb?token={token}", timeout=10) as r:
            assert json.load(r)["type"] == "notebook"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass  # already exited
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
