"""The README's grading cycle for one assignment, driven the way an instructor does it.

Release (a released course, as ``make lessons`` leaves it), the class as an LMS zip (three students,
the zip's member times as submission times, one of them after the due date), ``course-grade``,
the free response graded by hand through the formgrader's HTTP API (the server ``make formgrade``
starts, with the instructor's Jupyter configuration), a re-grade that keeps those grades,
``course-grade feedback`` and ``course-grade export``.
"""
from __future__ import annotations

import contextlib
import csv
import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_instructor.grading import cli, collect, export, repair, sandbox
from roundtrip_helpers import REPO, make_course, reference_submission, with_answer

A = "00_welcome"
FREE = "free_response_saturation"
DUE = "2026-11-20 12:00:00"
# (student, zip member time (UTC), what the manual grader gives the free response, comment)
CLASS = [("alice", (2026, 11, 19, 9, 30, 0), 2.0, "Both parts, well argued."),
         ("bob", (2026, 11, 20, 11, 59, 0), 1.0, "The bound is right; dead units are missing."),
         ("carol", (2026, 11, 21, 8, 0, 0), 1.5, "Late, but a good answer.")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _class_zip(root: Path, path: Path) -> None:
    """The LMS export: alice's answers are the reference; bob left relu as the stub; carol submits late."""
    release = nbformat.read(root / "notebooks" / A / f"{A}.ipynb", as_version=4)
    source = nbformat.read(root / "solutions" / A / f"{A}.ipynb", as_version=4)
    ref = reference_submission(release, source)
    subs = {"alice": ref, "bob": with_answer(ref, "relu_answer", "def relu(x):\n    raise NotImplementedError()\n"),
            "carol": with_answer(ref, FREE, "The factor is at most 0.25**10; ReLU units can die.")}
    with zipfile.ZipFile(path, "w") as zf:
        for student, when, _, _ in CLASS:
            zf.writestr(zipfile.ZipInfo(f"{student}_{A}.ipynb", date_time=when), nbformat.writes(subs[student]))


@contextlib.contextmanager
def formgrader(root: Path):
    """The formgrader as ``make formgrade`` serves it (instructor Jupyter config), on ``root``; yields (url, token, log)."""
    port, token = _free_port(), "cycle-test-token"
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(REPO / "jupyter" / "instructor"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    log = root / "formgrader.log"
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if os.getuid() == 0:
        cmd.append("--allow-root")
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/formgrader/api/status?token={token}", timeout=5):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise AssertionError("the formgrader did not answer:\n" + log.read_text())
        yield url, token, log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _api(url: str, token: str, path: str, body: dict | None = None):
    req = urllib.request.Request(f"{url}{path}", method="PUT" if body is not None else "GET",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    return json.loads(text) if path.startswith("/formgrader/api") else text


def _needs_manual(root: Path) -> dict[str, bool]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s: gb.find_submission_notebook(A, A, s).needs_manual_grade for s, *_ in CLASS}


@pytest.mark.slow
def test_the_readme_grading_cycle(tmp_path, capsys):
    if not sandbox.available()[0] and not os.environ.get("CI"):
        pytest.skip("no sandbox (bubblewrap) here")
    times = {}
    start = time.monotonic()
    root = make_course(tmp_path, A)  # `make lessons`: the release and the gradebook
    # The course's nbgrader_config.py, rooted here; late submissions score 0 (nbgrader's "zero" method).
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nload_subconfig({str(REPO / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\nc.Exchange.root = {str(root / 'exchange')!r}\n"
        "c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    (root / "exchange").mkdir()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(A, duedate=DUE)
    times["release"] = time.monotonic() - start

    export_zip = tmp_path / "lms-export.zip"
    _class_zip(root, export_zip)
    # feedback comes in its own step below (make grade would also write it for the autograded part)
    grade_args = [A, str(export_zip), "--root", str(root), "--workers", "2", "--cell-timeout", "25", "--no-feedback"]
    t = time.monotonic()
    assert cli.main(grade_args) == 0
    times["grade"] = time.monotonic() - t
    out, err = capsys.readouterr()
    assert "  3 graded\n" in out, out
    assert not re.search(r"warning|critical|error", err, re.I), err  # the progress bar only
    assert "out of 6 in all: 4 autograded, 2 graded by hand: 3 of 3 student(s) pending" in out, out
    assert all(_needs_manual(root).values())

    t = time.monotonic()
    with formgrader(root) as (url, token, log):
        subs = {s["student"]: s for s in _api(url, token, f"/formgrader/api/submissions/{A}")}
        assert sorted(subs) == ["alice", "bob", "carol"]
        nbs = {n["student"]: n for n in _api(url, token, f"/formgrader/api/submitted_notebooks/{A}/{A}")}
        for student, _, score, comment in CLASS:
            nb_id = nbs[student]["id"]
            grade = next(g for g in _api(url, token, f"/formgrader/api/grades?submission_id={nb_id}") if g["name"] == FREE)
            assert grade["needs_manual_grade"] and grade["auto_score"] is None
            _api(url, token, f"/formgrader/api/grade/{grade['id']}", {"manual_score": score})
            note = next(c for c in _api(url, token, f"/formgrader/api/comments?submission_id={nb_id}") if c["name"] == FREE)
            _api(url, token, f"/formgrader/api/comment/{note['id']}", {"manual_comment": comment})
        # what the grader sees: the student's answer and, beside it, the model answer with its mark scheme
        page = html.unescape(_api(url, token, f"/formgrader/submissions/{nbs['carol']['id']}/"))
        assert "The factor is at most 0.25**10" in page and "Mark scheme (2 points)" in page
        manage = _api(url, token, "/formgrader/manage_assignments")
        assert "warning-exchange" not in manage and "warning-course-id" not in manage
        server_log = log.read_text()
    times["formgrade"] = time.monotonic() - t
    assert not re.findall(r"^\[[WEC] .*", server_log, re.M), re.findall(r"^\[[WEC] .*", server_log, re.M)
    assert not any(_needs_manual(root).values())

    t = time.monotonic()  # a re-run (the same export): nothing re-run, the hand grades stay graded
    assert cli.main(grade_args) == 0
    times["re-grade"] = time.monotonic() - t
    out, err = capsys.readouterr()
    assert not re.search(r"warning|critical|error", err, re.I), err
    assert "(3 unchanged, not re-run)" in out and "2 graded by hand: all graded" in out, out
    assert not any(_needs_manual(root).values())

    t = time.monotonic()
    assert cli.main(["feedback", A, "--root", str(root)]) == 0
    times["feedback"] = time.monotonic() - t
    assert not re.search(r"warning|critical|error", capsys.readouterr().err, re.I)
    source = "\n".join(c.source for c in nbformat.read(root / "solutions" / A / f"{A}.ipynb", as_version=4).cells)
    hidden = [line.strip() for block in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", source, re.S)
              for line in block.splitlines() if len(line.strip()) >= 20]
    assert hidden
    for student, _, score, comment in CLASS:
        folder = root / "feedback" / student / A
        assert sorted(p.name for p in folder.iterdir()) == [f"{A}.html"], "only the feedback page"
        text = html.unescape((folder / f"{A}.html").read_text())
        assert comment in text, f"{student}: the grader's comment is missing"
        assert re.search(rf"{FREE}.*?Score: {score:.1f} / 2\.0", text, re.S), f"{student}: manual score missing"
        assert "For the grader" not in text and (student != "carol" or "Mark scheme" not in text)  # the others sent the model answer
        assert not [h for h in hidden if h in text], f"hidden tests in {student}'s feedback"

    t = time.monotonic()
    assert cli.main(["export", A, "--root", str(root)]) == 0
    times["export"] = time.monotonic() - t
    rows = {r["student"]: r for r in csv.DictReader((root / "grades" / A / "lms.csv").open())}
    want = {"alice": (4.0, 2.0, 0.0, 6.0, "2026-11-19T09:30:00"), "bob": (2.0, 1.0, 0.0, 3.0, "2026-11-20T11:59:00"),
            "carol": (4.0, 1.5, 5.5, 0.0, "2026-11-21T08:00:00")}
    for student, (auto, manual, penalty, total, stamp) in want.items():
        r = rows[student]
        got = (float(r["autograded"]), float(r["manual"]), float(r["late_penalty"]), float(r["total"]))
        assert got == (auto, manual, penalty, total), (student, r)
        assert r["timestamp"].startswith(stamp) and float(r["max_score"]) == 6.0 and float(r["pending_manual"]) == 0
    assert int(rows["carol"]["seconds_late"]) == 20 * 3600 and int(rows["alice"]["seconds_late"]) == 0
    print("grading cycle step times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()), file=sys.stderr)


def test_zip_member_time_is_the_submission_time(tmp_path):
    """Without timestamp.txt the submission time is the time stored in the LMS zip (read as UTC)."""
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"dora_{A}.ipynb", date_time=(2026, 11, 21, 8, 0, 0)), nbformat.writes(nbformat.v4.new_notebook()))
    subs = collect.collect(path, A, tmp_path / "course", [f"{A}.ipynb"])
    assert [(s.student, s.timestamp) for s in subs] == [("dora", "2026-11-21T08:00:00+00:00")]
    # the copy in submitted/ keeps that time: a later run from submitted/ gives the same timestamp
    again = collect.collect(tmp_path / "course" / "submitted", A, tmp_path / "course", [f"{A}.ipynb"])
    assert [s.timestamp for s in again] == ["2026-11-21T08:00:00+00:00"]


def test_mark_scheme_is_for_the_grader_only():
    """The model answer and mark scheme follow each hand-graded answer in the graded notebook (the
    formgrader shows it) and are dropped from the feedback."""
    source = nbformat.read(REPO / "solutions" / A / f"{A}.ipynb", as_version=4)
    release = nbformat.read(REPO / "notebooks" / A / f"{A}.ipynb", as_version=4)
    nb = repair.transplant(source, release, release).nb
    repair.add_grader_notes(nb, source)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    note = nb.cells[ids.index(FREE) + 1]
    assert note.metadata.get(repair.GRADER_NOTE) and "Mark scheme (2 points)" in note.source
    assert sum(bool(c.metadata.get(repair.GRADER_NOTE)) for c in nb.cells) == 1
    dropped, _ = export.DropGraderNotes().preprocess(nb, {})
    assert not any(c.metadata.get(repair.GRADER_NOTE) for c in dropped.cells)
    assert "Mark scheme" not in "\n".join(c.source for c in dropped.cells)


_PROBE = """
import json
from jupyter_server.serverapp import ServerApp
from jupyterlab_server.config import get_page_config
from jupyter_core.paths import jupyter_path
page = get_page_config(jupyter_path("labextensions"), None)
app = ServerApp()
app.find_server_extensions()
disabled = page.get("disabledExtensions", [])
disabled = [k for k, v in disabled.items() if v] if isinstance(disabled, dict) else disabled
print(json.dumps({"disabled": sorted(disabled),
                  "formgrader": app.jpserver_extensions.get("nbgrader.server_extensions.formgrader")}))
"""


@pytest.mark.slow  # two interpreters importing JupyterLab and the formgrader: ~20 s on a busy CPU
def test_instructor_tools_only_for_the_instructor():
    """Students' JupyterLab (make lab: the environment as make setup leaves it) has no Formgrader or Create
    Assignment; make formgrade and make author (jupyter/instructor first on JUPYTER_CONFIG_PATH) have both."""
    def probe(config_path: str | None) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
        if config_path:
            env["JUPYTER_CONFIG_PATH"] = config_path
        proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    tools = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
    student = probe(None)
    if not tools & set(student["disabled"]):
        pytest.skip(".venv was set up before make setup switched the instructor tools off: rm -rf .venv && make setup")
    assert tools <= set(student["disabled"]) and student["formgrader"] is False, student
    instructor = probe(str(REPO / "jupyter" / "instructor"))
    assert not tools & set(instructor["disabled"]) and instructor["formgrader"] is True, instructor
