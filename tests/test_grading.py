"""course-grade: the hostile corpus (tests/hostile/) graded in one parallel run, exact outcomes.

The whole corpus of an assignment is graded once, in the same ``course-grade`` run (2 workers) as
the assignment's round-trip class (tests/roundtrip_helpers.graded_class; the corpus's reference and blank are
the round trip's), then every test reads the results, the gradebook, the CSV, the feedback. Needs bubblewrap (``make test`` installs it
where it runs as root on Debian); elsewhere these tests are skipped with a message, except under
CI, where a missing sandbox is a failure. Measured on the shared 2-core machine: the corpus (39 cases) took 346 s
in CI graded on its own (main 1edc152); see benchmarks/results/grading_profile.md for the run now. The quick tests at the end check
collecting a class (symlinks, special files, ids that sanitise alike, damaged or hostile zips, BOM),
redaction of hidden tests and `course-grade` without the venv on PATH, without a kernel.
To extend the corpus to a later notebook, add tests/hostile/<assignment>.py (see hostile_corpus.py).
"""
from __future__ import annotations

import ast
import csv
import json
import os
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

from course_instructor.grading import cli, collect, redact, repair, sandbox
from hostile_corpus import load
from roundtrip_helpers import (
    HOSTILE_LIMITS,
    HOSTILE_OPTIONS,
    REPO,
    SANDBOX_OK,
    SANDBOX_WHY,
    copy_course,
    graded_class,
    nbgrader,
)

CORPUS = load()

needs_sandbox = pytest.mark.skipif(
    not SANDBOX_OK and not os.environ.get("CI"),
    reason=f"sandbox tests skipped: {SANDBOX_WHY} (make test installs bubblewrap when run as root on Debian)")
LIMITS, OPTIONS = HOSTILE_LIMITS, HOSTILE_OPTIONS


def _notebook(root, assignment):
    return sorted((root / "solutions" / assignment).glob("*.ipynb"))[0]


@pytest.fixture(scope="module", params=sorted(CORPUS))
def corpus(request, tmp_path_factory):
    """The corpus graded together with the assignment's round-trip class, once (tests/roundtrip_helpers.graded_class)."""
    if not SANDBOX_OK:
        pytest.fail(f"CI must run the sandbox tests: {SANDBOX_WHY}")
    graded = graded_class(request.param, tmp_path_factory)
    return graded.assignment, graded.root, graded.results, graded.seconds


def _scores(result):
    return {q["grade_id"]: q["points"] for nb in result["notebooks"].values() for q in nb["questions"]}




@pytest.mark.slow
@needs_sandbox
def test_exact_outcomes(corpus):
    assignment, _, results, _ = corpus
    wrong = []
    for case in CORPUS[assignment]:
        got = results.get(case.name)
        if got is None:
            wrong.append(f"{case.name}: no result row")
        elif got["status"] != case.status or _scores(got) != case.scores:
            wrong.append(f"{case.name}: expected {case.status} {case.scores}, got {got['status']} {_scores(got)} "
                         f"({'; '.join(got['notes'])[:300]}) {[q['message'][:100] for nb in got['notebooks'].values() for q in nb['questions']]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@needs_sandbox
def test_repairs_are_noted(corpus):
    _, _, results, _ = corpus
    expected = {
        "copy-pasted-graded-cells": "appears 2 times",
        "edited-test-cell-and-points": "was edited",
        "deleted-test-and-fake-graded-cell": "was deleted",
        "answer-cell-turned-markdown": "changed to a markdown cell",
        "changed-kernelspec": "kernel 'evil-kernel'",
        "renamed-notebook": "graded as '00_welcome.ipynb'",
        "invalid-json": "not valid JSON",
        "monkeypatch-checks": "for review",
    }
    for student, text in expected.items():
        if student in results:
            assert any(text in n for n in results[student]["notes"]), (student, results[student]["notes"])


@pytest.mark.slow
@needs_sandbox
def test_csv_has_a_row_per_student_and_question(corpus):
    assignment, root, results, _ = corpus
    with open(root / "grades" / assignment / "grades.csv") as fh:
        rows = list(csv.DictReader(fh))
    totals = {r["student"]: r for r in rows if r["question"] == "(total)"}
    assert sorted(totals) == sorted(results)
    for student, res in results.items():
        assert float(totals[student]["points"]) == res["score"]
        assert totals[student]["status"] == res["status"]
    assert (root / "grades" / assignment / "grades.png").stat().st_size > 1000


@pytest.mark.slow
@needs_sandbox
def test_gradebook_export_matches(corpus):
    """nbgrader's own export reads the scores we wrote into its gradebook."""
    assignment, root, results, _ = corpus
    path = root / "export.csv"
    nbgrader("export", f"--to={path}", root=root)
    exported = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(path.open()) if r["assignment"] == assignment}
    for student, res in results.items():
        assert exported.get(student, 0.0) == pytest.approx(res["score"]), student


def _hidden_keys(root, assignment) -> list[str]:
    """The hidden-test lines of the assignment (in redact's normal form) that students never see."""
    from course_instructor.grading import redact

    source = nbformat.read(_notebook(root, assignment), as_version=4)
    visible = redact.normal("\n".join(c.source for c in nbformat.read(
        root / "notebooks" / assignment / _notebook(root, assignment).name, as_version=4).cells))[0]
    keys = {redact.normal(line)[0] for line in redact.hidden_lines(source)}
    return [k for k in keys if len(k) >= 20 and k not in visible]


@pytest.mark.slow
@needs_sandbox
def test_feedback_shows_results_not_hidden_tests(corpus):
    assignment, root, results, _ = corpus
    for student, res in results.items():
        if res["status"] == "missing":
            continue
        html = (root / "feedback" / student / assignment / f"{assignment}.html").read_text()
        assert "Score:" in html
        assert "manual_seed" not in html, f"hidden test code in {student}'s feedback"
        for path in (root / "autograded" / student / assignment).glob("*.ipynb"):
            assert "manual_seed" not in path.read_text(), f"hidden test code in {student}'s autograded notebook"
    for name in ("grades.csv", "results.json", "summary.txt"):
        assert "manual_seed" not in (root / "grades" / assignment / name).read_text(), name
    secrets = _hidden_keys(root, assignment)
    for student in ("print-running-cell", "print-caller-frames", "exception-carries-test-source"):
        page = (root / "feedback" / student / assignment / f"{assignment}.html").read_text()
        found = redact.normal(page)[0]  # the page with escapes and HTML references decoded
        assert not [k for k in secrets if k in found], f"hidden test code, re-encoded, in {student}'s feedback"
    for student in ("print-running-cell", "exception-carries-test-source"):  # they did print hidden lines
        if student in results:
            html = (root / "feedback" / student / assignment / f"{assignment}.html").read_text()
            assert "a line of hidden test code was removed" in html, student
    assert "graded as" in (root / "feedback" / "renamed-notebook" / assignment / f"{assignment}.html").read_text()


@pytest.mark.slow
@needs_sandbox
def test_fork_storm_is_bounded(corpus):
    assignment, root, results, _ = corpus
    if "fork-storm" not in results:
        pytest.skip("no fork-storm case")
    nb = nbformat.read(root / "autograded" / "fork-storm" / assignment / f"{assignment}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    found = re.search(r"fork storm stopped after (\d+) children", text)
    assert found and int(found.group(1)) < LIMITS.nproc, text[-500:]


@pytest.mark.slow
@needs_sandbox
def test_kernel_tmp_is_writable(corpus):
    """Documented as writable: Matplotlib puts its cache there (it warned on every feedback page)."""
    assignment, root, results, _ = corpus
    text = (root / "autograded" / "reference" / assignment / f"{assignment}.ipynb").read_text()
    assert "not a writable directory" not in text and "Matplotlib created a temporary" not in text


@pytest.mark.slow
@needs_sandbox
def test_output_flood_is_truncated(corpus):
    assignment, root, results, _ = corpus
    path = root / "autograded" / "output-flood" / assignment / f"{assignment}.ipynb"
    if path.exists():
        assert path.stat().st_size < 3_000_000


@pytest.mark.slow
@needs_sandbox
def test_rerun_skips_unchanged_and_regrades_changed(corpus, tmp_path):
    assignment, graded_root, results, _ = corpus
    root = copy_course(graded_root, tmp_path / "course")  # the round-trip tests read the original
    # one student submits again: the blank becomes the reference solution
    ref = root / "submitted" / "reference" / assignment / f"{assignment}.ipynb"
    (root / "submitted" / "blank" / assignment / f"{assignment}.ipynb").write_bytes(ref.read_bytes())
    again = {r["student"]: r for r in cli.grade_assignment(assignment, root=root, feedback=False, **OPTIONS)}
    assert again["blank"]["cached"] is False and again["blank"]["score"] == 4.0
    assert all(r["cached"] for s, r in again.items() if s != "blank" and r["status"] != "missing")
    for s, r in again.items():
        if s != "blank":
            assert r["score"] == results[s]["score"], s


# -- quick unit tests (no kernel) ---------------------------------------------------------

def test_flat_folder_and_zip_are_collected(tmp_path):
    src = REPO / "notebooks" / "00_welcome" / "00_welcome.ipynb"
    flat = tmp_path / "lms"
    flat.mkdir()
    (flat / "alice_00_welcome.ipynb").write_bytes(src.read_bytes())
    (flat / "smithbob_1234_5678_00_welcome.ipynb").write_bytes(src.read_bytes())
    (flat / "Carol Jones_99_assignsubmission_file_").mkdir()
    (flat / "Carol Jones_99_assignsubmission_file_" / "welcome.ipynb").write_bytes(src.read_bytes())
    root = tmp_path / "course"
    subs = collect.collect(flat, "00_welcome", root, ["00_welcome.ipynb"], known_students=["dave"])
    assert {s.student: [p.name for p in s.files] for s in subs} == {
        "alice": ["00_welcome.ipynb"], "smithbob": ["00_welcome.ipynb"], "Carol-Jones": ["welcome.ipynb"], "dave": []}
    assert (root / "submitted" / "alice" / "00_welcome" / "00_welcome.ipynb").is_file()
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(flat / "alice_00_welcome.ipynb", "export/alice_00_welcome.ipynb")
    subs = collect.collect(archive, "00_welcome", tmp_path / "course2", ["00_welcome.ipynb"])
    assert [s.student for s in subs] == ["alice"]


def test_transplant_keeps_only_answers():
    source = nbformat.read(REPO / "solutions" / "00_welcome" / "00_welcome.ipynb", as_version=4)
    release = nbformat.read(REPO / "notebooks" / "00_welcome" / "00_welcome.ipynb", as_version=4)
    student = nbformat.read(REPO / "notebooks" / "00_welcome" / "00_welcome.ipynb", as_version=4)
    student.cells.append(nbformat.v4.new_code_cell("print('scratch')"))
    fixed = repair.transplant(source, student, release)
    assert [c.source for c in fixed.nb.cells if not repair.is_answer(c)] == [c.source for c in source.cells if not repair.is_answer(c)]
    assert any("not run" in n for n in fixed.notes)
    with pytest.raises(repair.InvalidNotebook):
        bad = REPO / "README.md"
        repair.read_submission(bad)


def test_refuses_without_sandbox(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "available", lambda: (False, "no bwrap here"))
    with pytest.raises(SystemExit, match="no sandbox"):
        cli.grade_assignment("00_welcome", root=tmp_path)


@pytest.mark.slow
@needs_sandbox
def test_sandbox_result_is_json_serialisable(corpus):
    _, root, results, _ = corpus
    json.dumps(results)


# -- collecting a class: nothing lost, no class stopped (quick, no kernel) -----------------------

WELCOME = REPO / "notebooks" / "00_welcome" / "00_welcome.ipynb"
SOLUTION = REPO / "solutions" / "00_welcome" / "00_welcome.ipynb"


def _collect(source, tmp_path, **kw):
    return collect.collect(source, "00_welcome", tmp_path / "course", ["00_welcome.ipynb"], **kw)


def test_notebook_with_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + WELCOME.read_bytes())
    nb = repair.read_submission(path)
    assert len(nb.cells) == len(nbformat.read(WELCOME, as_version=4).cells)


def test_symlinks_and_special_files_are_refused_with_a_note(tmp_path):
    """The instructor's solution linked into submitted/ is never read (it scored full marks)."""
    root = tmp_path / "course"
    folder = root / "submitted" / "mallory" / "00_welcome"
    folder.mkdir(parents=True)
    (folder / "00_welcome.ipynb").symlink_to(SOLUTION)
    os.mkfifo(root / "submitted" / "mallory" / "00_welcome" / "extra.ipynb")
    (root / "submitted" / "linked").symlink_to(SOLUTION.parent.parent)  # a whole student folder
    (root / "submitted" / "alice" / "00_welcome").mkdir(parents=True)
    (root / "submitted" / "alice" / "00_welcome" / "00_welcome.ipynb").write_bytes(WELCOME.read_bytes())
    subs = {s.student: s for s in collect.collect(root / "submitted", "00_welcome", root, ["00_welcome.ipynb"])}
    assert [p.name for p in subs["alice"].files] == ["00_welcome.ipynb"] and not subs["alice"].notes
    assert subs["mallory"].files == []
    assert any("symbolic link" in n for n in subs["mallory"].notes), subs["mallory"].notes
    assert any("not a regular file" in n for n in subs["mallory"].notes), subs["mallory"].notes
    assert subs["linked"].files == [] and "symbolic link" in subs["linked"].notes[0]
    with pytest.raises(repair.InvalidNotebook, match="symbolic link"):
        repair.read_submission(folder / "00_welcome.ipynb")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "eve_00_welcome.ipynb").symlink_to(SOLUTION)
    subs = {s.student: s for s in _collect(flat, tmp_path / "f")}
    assert subs["eve"].files == [] and "symbolic link" in subs["eve"].notes[0]


def test_names_that_sanitise_alike_are_never_merged(tmp_path):
    release = nbformat.read(WELCOME, as_version=4)
    flat = tmp_path / "flat"
    flat.mkdir()
    for name, marker in [("Anna Li_1_00_welcome.ipynb", "first"), ("Anna-Li_2_00_welcome.ipynb", "second"),
                         ("Anna  Li_3_00_welcome.ipynb", "third")]:
        release.metadata["marker"] = marker
        nbformat.write(release, flat / name)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(flat.iterdir()):
            zf.write(p, p.name)
    for source, sub in [(flat, "f"), (archive, "z")]:
        subs = list(_collect(source, tmp_path / sub))
        assert sorted(s.student for s in subs) == ["Anna-Li", "Anna-Li-2", "Anna-Li-3"]
        markers = sorted(nbformat.read(s.files[0], as_version=4).metadata["marker"] for s in subs)
        assert markers == ["first", "second", "third"], source
        renamed = [s for s in subs if s.student != "Anna-Li"]
        assert all(any("kept apart" in n for n in s.notes) for s in renamed)
    root = tmp_path / "nb"
    for name in ("bob smith", "bob-smith"):
        (root / "submitted" / name / "00_welcome").mkdir(parents=True)
        (root / "submitted" / name / "00_welcome" / "00_welcome.ipynb").write_bytes(WELCOME.read_bytes())
    for _ in range(2):  # a second run (in place) finds the same students, not its own copies
        subs = collect.collect(root / "submitted", "00_welcome", root, ["00_welcome.ipynb"])
        assert sorted(s.student for s in subs) == ["bob-smith", "bob-smith-2"]
        assert all(len(s.files) == 1 for s in subs)


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_broken_class_exports_grade_every_readable_submission(tmp_path):
    good = WELCOME.read_bytes()
    members = {f"export/{s}_00_welcome.ipynb": good for s in ("alice", "bob", "carol")}
    # one member with a bad CRC: flip a byte of bob's compressed data
    data = bytearray(_zip_bytes(members))
    at = data.index(b"bob_00_welcome.ipynb") + len("bob_00_welcome.ipynb") + 200
    data[at] ^= 0xFF
    (tmp_path / "crc.zip").write_bytes(bytes(data))
    subs = {s.student: s for s in _collect(tmp_path / "crc.zip", tmp_path / "crc")}
    assert [p.name for p in subs["alice"].files] == ["00_welcome.ipynb"] and subs["carol"].files
    assert subs["bob"].files == [] and subs["bob"].notes, subs["bob"]
    # a "../" member and an absolute one: refused, reported, the rest graded
    unsafe = _zip_bytes({**members, "../evil_00_welcome.ipynb": good, "/etc/x_00_welcome.ipynb": good})
    (tmp_path / "unsafe.zip").write_bytes(unsafe)
    got = _collect(tmp_path / "unsafe.zip", tmp_path / "unsafe")
    assert sorted(s.student for s in got) == ["alice", "bob", "carol"]
    assert len(got.problems) == 2 and not (tmp_path / "unsafe" / "evil_00_welcome.ipynb").exists()
    # a truncated download (no central directory): every member before the cut is recovered
    whole = _zip_bytes(members)
    (tmp_path / "cut.zip").write_bytes(whole[: whole.index(b"carol_00_welcome.ipynb") + 500])
    subs = {s.student: s for s in _collect(tmp_path / "cut.zip", tmp_path / "cut")}
    assert subs["alice"].files and subs["bob"].files and not subs["carol"].files and subs["carol"].notes
    (tmp_path / "junk.zip").write_bytes(b"this is not a zip at all")
    with pytest.raises(ValueError, match="not a readable zip"):
        _collect(tmp_path / "junk.zip", tmp_path / "junk")


def test_zip_bomb_is_bounded(tmp_path):
    """A member that unpacks far beyond its compressed size is refused before it is unpacked."""
    import resource

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export/alice_00_welcome.ipynb", WELCOME.read_bytes())
        with zf.open("export/bomb_00_welcome.ipynb", "w", force_zip64=True) as fh:
            chunk = b"\0" * 2**20
            for _ in range(1024):  # 1 GiB of zeros, about 1 MB compressed
                fh.write(chunk)
    assert bomb.stat().st_size < 3 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    subs = {s.student: s for s in _collect(bomb, tmp_path / "b")}
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert subs["alice"].files and not subs["bomb"].files
    assert any("zip bomb" in n for n in subs["bomb"].notes), subs["bomb"].notes
    assert grown_mb < 200, f"collecting the bomb grew the grader by {grown_mb:.0f} MB"
    assert sum(f.stat().st_size for f in (tmp_path / "b").rglob("*") if f.is_file()) < 10 * 2**20


def test_course_grade_runs_without_the_venv_on_path(tmp_path):
    """As the README shows: ``.venv/bin/course-grade ...`` with a PATH that has no venv. It used
    to stop with "No such file or directory: 'alembic'" and leave a half-made gradebook.db."""
    import shutil
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / "00_welcome", root / "solutions" / "00_welcome")
    (tmp_path / "none").mkdir()
    exe = Path(sys.executable).parent / "course-grade"
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    assert shutil.which("alembic", path=env["PATH"]) is None, "alembic on the system PATH: this test proves nothing"
    proc = subprocess.run([str(exe), "00_welcome", str(tmp_path / "none"), "--root", str(root), "--no-feedback",
                           "--unsafe-no-sandbox", "--quiet"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with sqlite3.connect(root / "gradebook.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone()
        assert con.execute("SELECT name FROM assignment").fetchall() == [("00_welcome",)]


def test_hidden_tests_are_redacted_from_outputs_by_content():
    """Whatever carries hidden-test code -- a printed cell, its repr, an exception message or
    traceback -- is removed before it reaches autograded/ or the feedback; visible code stays."""
    from course_instructor.grading import redact

    source = nbformat.read(SOLUTION, as_version=4)
    release = nbformat.read(WELCOME, as_version=4)
    test_cell = next(c for c in source.cells if "BEGIN HIDDEN TESTS" in c.source)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("relu(x)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=test_cell.source + "\n" + repr(test_cell.source)),
        nbformat.v4.new_output("error", ename="ValueError", evalue=test_cell.source, traceback=test_cell.source.split("\n")),
        nbformat.v4.new_output("execute_result", data={"text/plain": repr(test_cell.source.split("\n"))}),
    ])])
    redact.Redactor(source, release).notebook(nb)
    text = nbformat.writes(nb)
    assert "manual_seed" not in text and "x_before" not in text
    assert redact.MARK in text
    # re-encoded: every form of the cell is removed, with the lines around it kept
    import html as html_
    import textwrap

    redactor = redact.Redactor(source, release)
    cell = test_cell.source
    forms = {"repr": repr(cell), "repr of repr": repr(repr(cell)), "JSON": json.dumps(cell), "HTML": html_.escape(cell),
             "HTML of repr": html_.escape(repr(cell)), "JSON of HTML": json.dumps(html_.escape(cell)),
             "reflowed": textwrap.fill(" ".join(cell.split()), 33), "ascii": ascii(cell + "\u00e9"),
             "list repr": repr(cell.split("\n")), "colour codes": "\x1b[0;31m" + cell.replace(" ", " \x1b[0m"),
             "line by line repr": "\n".join(repr(line) for line in cell.split("\n"))}
    for name, form in forms.items():
        out = redactor.text(f"student line before\n{form}\nstudent line after")
        assert "manual_seed" not in out and "x_before" not in out, name
        assert out.startswith("student line before\n") and out.endswith("\nstudent line after"), name
    assert redactor.text("no secret here\nnor here") == "no secret here\nnor here"
    assert 'checks.check_shape(out, x.shape, \\"relu(x)\\")' in text  # visible checks are not secret


# What a kernel finds writable: every read-write mount, its type, whether a write there worked, its size.
_WRITABLE_PROBE = r"""
import os
found = []
for line in open('/proc/self/mountinfo'):
    left, _, right = line.partition(' - ')
    point, options, fstype = left.split()[4], left.split()[5], right.split()[0]
    if 'rw' not in options.split(',') or fstype in ('proc', 'sysfs', 'devpts', 'mqueue'):
        continue
    try:
        with open(os.path.join(point, '.probe'), 'wb') as f:
            f.write(b'x')
        os.remove(os.path.join(point, '.probe'))
        s = os.statvfs(point)
        found.append((point, fstype, s.f_blocks * s.f_frsize))
    except OSError:
        pass
print(repr(found))
"""

_NONROOT_SCRIPT = """
import ast, sys
from course_instructor.grading import execute, sandbox
k = execute.Kernel(0, sandbox.Limits(), sandboxed=True)
try:
    k.start()
    r = k.run(sys.argv[1], 120)
    print('RESULT', r.status, ''.join(o.get('text', '') for o in r.outputs).strip(), r.message)
finally:
    k.cleanup()
"""


@needs_sandbox
@pytest.mark.parametrize("user", ["grader's own", "unprivileged"])
def test_kernel_can_write_only_to_its_bounded_tmpfs(user, tmp_path):
    """No host folder is writable from the sandbox -- the connection folder included --, whether the
    grader runs as root or not (as root, the unprivileged case runs the grader as ``nobody``):
    every writable place is a tmpfs of at most the documented size (``/tmp``, the working directory,
    ``/dev/shm``); the sandbox's own root and ``/dev`` are read-only. (Where ``nobody`` cannot read
    this Python, the unprivileged case is skipped; the user-namespace path was checked by hand with
    ``os.geteuid`` patched: the same three tmpfs.)"""
    if not SANDBOX_OK:
        pytest.fail(f"CI must run the sandbox tests: {SANDBOX_WHY}")
    cmd = [sys.executable, "-c", _NONROOT_SCRIPT, _WRITABLE_PROBE]
    if user == "unprivileged":
        if os.geteuid() != 0:
            pytest.skip("the grader already runs unprivileged: the other case covers it")
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", *cmd]
        reach = subprocess.run([*cmd[:5], "ls", sys.base_prefix], capture_output=True)
        if reach.returncode != 0:
            pytest.skip(f"nobody cannot read this Python installation ({sys.base_prefix})")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "TMPDIR": "/tmp", "HOME": str(tmp_path)})
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    status, _, found = line[len("RESULT "):].partition(" ")
    assert status == "ok", line
    mounts = ast.literal_eval(found)
    limits = sandbox.Limits()
    assert {p for p, _, _ in mounts} <= {"/tmp", "/home/student", "/dev/shm"} and "/tmp" in {p for p, _, _ in mounts}, mounts
    for point, fstype, size in mounts:
        assert fstype == "tmpfs" and size <= max(limits.tmp_mb, limits.tmpfs_mb) * 2**20, (point, fstype, size)


@needs_sandbox
def test_kernels_read_a_prebuilt_font_list(tmp_path):
    """Matplotlib's font list is built once per grader (sandbox.font_cache) and bound read-only into
    every kernel's /tmp/mpl, which stays writable for Matplotlib's other caches: no kernel rebuilds
    it (0.2 CPU-s each) and none warns about its cache directory."""
    if not SANDBOX_OK:
        pytest.fail(f"CI must run the sandbox tests: {SANDBOX_WHY}")
    name, path = sandbox.font_cache()
    assert path.is_file() and name.startswith("fontlist-")
    (tmp_path / "kernel.json").write_text("{}")
    cmd = sandbox.kernel_command(tmp_path / "kernel.json", "/home/student", 0, sandbox.Limits())
    probe = ("import logging, os\nlogging.basicConfig(level=logging.INFO)\nimport matplotlib.pyplot\n"
             "print('PROBE', os.access('/tmp/mpl', os.W_OK), sorted(os.listdir('/tmp/mpl')))\n")
    python = len(cmd) - 1 - cmd[::-1].index(sys.executable)
    proc = subprocess.run([*cmd[:python + 1], "-c", probe], capture_output=True, text=True, timeout=300)
    assert f"PROBE True ['{name}']" in proc.stdout, proc.stdout + proc.stderr
    assert "generated new fontManager" not in proc.stderr and "Matplotlib created" not in proc.stderr, proc.stderr
