"""JupyterLab in a real browser, as a student and an instructor use it.

Starts JupyterLab from the project's environment on a free local port (on a temporary copy of
``solutions/`` and ``notebooks/``, so nothing in the repository is touched), drives Debian's
Chromium with Playwright, and for every assignment:

1. opens the instructor notebook, runs all cells (fast mode: ``COURSE_FAST=1``), and checks that
   every code cell ran and none raised;
2. moves one control of the first interactive app (a dropdown, else a slider -- the other way if
   it is at its end --, else a check box) and checks that the app's picture changes;
3. opens the student version and checks that nbgrader's *Validate* button is in the toolbar.

A screenshot of each notebook and a JSON summary of what was done and seen are saved in
``test-artifacts/browser/``. Without Chromium (``/usr/bin/chromium``) or Playwright the test is
skipped with a message; ``make test`` installs Chromium on Debian when run as root, as in CI.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from chromium_helpers import CHROMIUM, launch

from course_instructor.release import assignments

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
RUN_ALL_TIMEOUT_S = 420

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    pytest.skip(f"Chromium not found at {CHROMIUM}: on Debian `make test` installs it (apt-get install chromium) "
                "when run as root; elsewhere install it or set COURSE_CHROMIUM", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make setup)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab server over a copy of the course; yields (base_url, token, root)."""
    root = tmp_path_factory.mktemp("lab")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder)
    config = root / ".jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    # no "news" prompt over the notebook
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    settings = root / ".user-settings"
    for plugin, values in {
        # render every cell (JupyterLab 4 otherwise renders only what is on screen)
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        package, name = plugin.rsplit("/", 1)
        (settings / package).mkdir(parents=True, exist_ok=True)
        (settings / package / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, COURSE_FAST="1", COURSE_NUM_THREADS="1", JUPYTER_CONFIG_DIR=str(config),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    env.pop("NBGRADER_EXECUTION", None)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           f"--LabApp.workspaces_dir={root / '.workspaces'}", f"--LabApp.user_settings_dir={settings}",
           "--LabApp.expose_app_in_browser=True"]  # window.jupyterapp: read the notebook model
    if os.getuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (root / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token, root
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_sync.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def _shutdown_kernels(base: str, token: str) -> None:
    req = urllib.request.Request(f"{base}/api/sessions?token={token}")
    for session in json.load(urllib.request.urlopen(req, timeout=10)):
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE"), timeout=10)


def _open(page, base: str, token: str, rel: str) -> None:
    page.goto(f"{base}/lab/tree/{rel}?token={token}&reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    # the kernel must be connected and idle before Run All, or JupyterLab drops the request
    page.wait_for_function("""() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = p && p.sessionContext && p.sessionContext.session && p.sessionContext.session.kernel;
        return k && k.status === 'idle' && k.connectionStatus === 'connected'; }""", timeout=120_000, polling=500)


_NOTEBOOK_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  let code = 0, ran = 0, errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code++;
    if (cell.executionCount) ran++;
    for (const out of cell.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {code, ran, errors, status: kernel ? kernel.status : 'none'};
}"""


def _run_all(page) -> dict:
    """Run > Run All Cells from the menu, as a student would; wait until every code cell ran."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    start = time.monotonic()
    while True:
        time.sleep(1)
        state = page.evaluate(_NOTEBOOK_STATE)
        if state["errors"] or (state["ran"] == state["code"] and state["status"] == "idle"):
            break
        if time.monotonic() - start > RUN_ALL_TIMEOUT_S:
            raise AssertionError(f"cells still running after {RUN_ALL_TIMEOUT_S} s: {state}")
    return {"code_cells": state["code"], "cells_run": state["ran"], "errors": state["errors"],
            "seconds": round(time.monotonic() - start, 1)}


def _app_picture(app) -> str | None:
    img = app.locator(".jp-OutputArea-output img")
    return img.first.get_attribute("src") if img.count() else None


def _control_moves(app):
    """Ways a student changes an app's controls, in order: (description, action) pairs."""
    moves = []
    selects = app.locator(".widget-dropdown select")
    for k in range(selects.count()):
        select = selects.nth(k)

        def pick_other(select=select):
            options = select.locator("option")
            values = [options.nth(i).get_attribute("value") for i in range(options.count())]
            other = next(v for v in values if v != select.input_value())
            select.select_option(other)
        moves.append((f"dropdown {k}: another option", pick_other))
    handles = app.locator(".noUi-handle")
    for k in range(handles.count()):
        for key in ("ArrowRight", "ArrowLeft"):  # a slider already at its end moves the other way
            def press(handle=handles.nth(k), key=key):
                handle.focus()
                for _ in range(3):
                    handle.press(key)
            moves.append((f"slider {k}: 3 x {key}", press))
    boxes = app.locator(".widget-checkbox input[type=checkbox]")
    for k in range(boxes.count()):
        moves.append((f"check box {k}: clicked", boxes.nth(k).click))
    return moves


def _move_until_picture_changes(app, before: str | None, wait_s: float = 60) -> tuple[list[str], bool]:
    """Try the app's controls one after another until its picture changes; return (tried, changed)."""
    tried = []
    for description, move in _control_moves(app):
        tried.append(description)
        move()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            now = _app_picture(app)
            if now not in (before, None):
                return tried, True
            time.sleep(0.5)
    return tried, False


@pytest.mark.parametrize("assignment", assignments(REPO))
def test_notebook_in_jupyterlab(lab, browser, assignment):
    base, token, root = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report: dict = {"assignment": assignment}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _open(page, base, token, f"solutions/{assignment}/{assignment}.ipynb")
        report["run_all"] = _run_all(page)
        assert not report["run_all"]["errors"], report["run_all"]["errors"]
        apps = page.locator(".course-app")
        report["apps"] = apps.count()
        assert report["apps"] >= 1, "no interactive app (course_utils.widgets.App) rendered"
        app = apps.first
        app.scroll_into_view_if_needed()
        page.wait_for_function("el => el.querySelector('.jp-OutputArea-output img') !== null",
                               arg=app.element_handle(), timeout=60_000)
        before = _app_picture(app)
        report["controls_moved"], report["picture_changed"] = _move_until_picture_changes(app, before)
        app.screenshot(path=str(ARTIFACTS / f"{assignment}-app.png"))
        page.screenshot(path=str(ARTIFACTS / f"{assignment}-instructor.png"))
        assert report["picture_changed"], f"moving the controls ({report['controls_moved']}) did not change the picture"
        _shutdown_kernels(base, token)

        _open(page, base, token, f"notebooks/{assignment}/{assignment}.ipynb")
        validate = page.locator(".jp-NotebookPanel:visible .validate-button")
        validate.first.wait_for(timeout=30_000)
        report["validate_button"] = validate.count() >= 1
        page.screenshot(path=str(ARTIFACTS / f"{assignment}-student.png"))
        assert report["validate_button"], "nbgrader's Validate button is missing from the student notebook"
    finally:
        (ARTIFACTS / f"{assignment}.json").write_text(json.dumps(report, indent=1))
        try:
            _shutdown_kernels(base, token)
        except OSError:
            pass
        page.close()
