"""Everything that goes through nbgrader: the gradebook, autograded notebooks, feedback.

The scores are written with nbgrader's own :class:`SaveAutoGrades` preprocessor (only the score of
a test cell is ours instead of nbgrader's output-based guess), into nbgrader's gradebook, from a
single thread. The executed notebook goes to ``autograded/<student>/<assignment>/`` as nbgrader's
autograde would put it, so ``nbgrader generate_feedback``, ``nbgrader export`` and the formgrader
(manual grading of free responses) work unchanged.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, SaveAutoGrades

from ..release import REPO_ROOT, SOURCE_DIR, generate, nbgrader_env
from .repair import add_grader_notes, is_answer, is_graded, is_test, meta

VERDICT = "course_grade"  # cell metadata key holding our verdict for a test cell


ANSWERS = ".course-grade-answers.json"  # beside a student's autograded notebooks: what was graded by hand


def answer_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _digests(nb) -> dict[str, str]:
    """grade_id -> digest of what its score depends on: a hand-graded answer cell its own text, a
    test cell all the notebook's answers (a test reads any of them)."""
    answers = [c for c in nb.cells if is_answer(c)]
    every = answer_digest("\x00".join(c.source for c in answers))
    out = {}
    for cell in nb.cells:
        if is_graded(cell):
            out[meta(cell)["grade_id"]] = answer_digest(cell.source) if is_answer(cell) else every
    return out


class SaveVerdicts(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, scoring test cells by the grader's verdict, not by their output.

    A cell a person has graded (a manual score, "graded" in the formgrader) stays graded when the
    answers it depends on and its automatic score are unchanged (``previous``: the digests saved
    when it was last graded); nbgrader's own preprocessor marks it "needs manual grade" again at
    every autograde.
    """

    previous: dict = {}

    def _add_score(self, cell, resources):
        gid = cell.metadata["nbgrader"]["grade_id"]
        grade = self.gradebook.find_grade(gid, self.notebook_id, self.assignment_id, self.student_id)
        was_graded = grade.manual_score is not None and not grade.needs_manual_grade
        old_auto = grade.auto_score
        verdict = cell.metadata.get(VERDICT)
        if verdict is None:
            super()._add_score(cell, resources)
        else:
            grade.auto_score = float(verdict["points"])
            grade.needs_manual_grade = grade.manual_score is not None
        if was_graded and grade.auto_score == old_auto and self.previous.get(gid) == self.digests.get(gid):
            grade.needs_manual_grade = False
        self.gradebook.db.commit()

    def preprocess(self, nb, resources):
        self.digests = _digests(nb)
        return super().preprocess(nb, resources)


def db_url(root: Path) -> str:
    return f"sqlite:///{Path(root) / 'gradebook.db'}"


@contextlib.contextmanager
def _own_tools_on_path():
    """This interpreter's ``bin/`` first on PATH: nbgrader runs the ``alembic`` command when it
    creates a gradebook, and ``course-grade`` must find the one installed next to it even when
    started as ``.venv/bin/course-grade`` without the venv on PATH."""
    old = os.environ.get("PATH")
    os.environ["PATH"] = nbgrader_env()["PATH"]
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def ensure_gradebook(root: Path) -> Path:
    """``<root>/gradebook.db``, created if missing: built under a temporary name and moved into
    place only when nbgrader has finished it, so a failure never leaves a half-made gradebook.
    One left by an earlier failure (tables, but no schema version) gets its version stamped."""
    path = Path(root) / "gradebook.db"
    if path.exists():
        with contextlib.closing(sqlite3.connect(path)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "alembic_version" not in tables:
            from nbgrader.api import get_alembic_version

            with _own_tools_on_path():
                version = get_alembic_version()
            with contextlib.closing(sqlite3.connect(path)) as con, con:
                con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
                con.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".gradebook-{os.getpid()}.db")
    try:
        with _own_tools_on_path(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Gradebook(f"sqlite:///{tmp}").close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def ensure_assignment(root: Path, assignment: str) -> None:
    """Record the assignment in the gradebook (as ``make release`` does) if it is not there yet."""
    ensure_gradebook(root)
    with Gradebook(db_url(root)) as gb:
        try:
            gb.find_assignment(assignment)
            if gb.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as tmp:
        generate([assignment], root=root, release_dir=tmp)


def known_students(root: Path) -> list[str]:
    with Gradebook(db_url(root)) as gb:
        return sorted(s.id for s in gb.students)


def hide_hidden_tests(nb, marker: str = "### hidden tests: not shown (their results are below)") -> None:
    """Remove the hidden tests' code with nbgrader's ClearHiddenTests (``marker`` says where it was)
    and replace tracebacks by their message (a traceback quotes the lines around the failing
    check, hidden ones included)."""
    clear = ClearHiddenTests()
    for i, cell in enumerate(nb.cells):
        if is_test(cell):
            before = cell.source
            clear.preprocess_cell(cell, {}, i)
            if cell.source != before:
                cell.source = cell.source.rstrip("\n") + "\n" + marker
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename')}: {out.get('evalue')}"]


def notes_cell(status: str, notes: list[str]):
    lines = [f"**Grading status: {status}**", ""] + [f"- {n}" for n in notes]
    return nbformat.v4.new_markdown_cell("\n".join(lines), metadata={"course_grade_notes": True})


def write_autograded(root: Path, assignment: str, student: str, name: str, nb) -> Path:
    """``autograded/<student>/<assignment>/<name>``, with the model answer and mark scheme after each
    hand-graded answer for the formgrader (:func:`.repair.add_grader_notes`; never in the feedback)."""
    source = Path(root) / SOURCE_DIR / assignment / name
    if source.is_file():
        add_grader_notes(nb, nbformat.read(source, as_version=4))
    folder = Path(root) / "autograded" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


def save(root: Path, assignment: str, student: str, notebooks: dict[str, object], timestamp: str | None = None) -> None:
    """Write one student's graded notebooks ({name: executed nb with verdicts}) into the gradebook.

    Hand-graded cells whose answer did not change keep their "graded" state (:class:`SaveVerdicts`);
    the digests it compares are kept in ``autograded/<student>/<assignment>/.course-grade-answers.json``.
    """
    url = db_url(root)
    record = Path(root) / "autograded" / student / assignment / ANSWERS
    try:
        previous = json.loads(record.read_text()) if record.is_file() else {}
    except (OSError, ValueError):
        previous = {}
    current = {}
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session warnings: harmless noise
        warnings.simplefilter("ignore")
        with Gradebook(url) as gb:
            gb.update_or_create_student(student)
            kwargs = {"timestamp": timestamp} if timestamp else {}
            gb.update_or_create_submission(assignment, student, **kwargs)
        for name, nb in notebooks.items():
            resources = {"nbgrader": {"notebook": Path(name).stem, "assignment": assignment, "student": student,
                                      "db_url": url}}
            saver = SaveVerdicts()
            saver.previous = previous.get(name, {})
            saver.preprocess(nb, resources)
            current[name] = saver.digests
    if notebooks:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(current, indent=1, sort_keys=True))


def set_verdicts(nb, cells) -> None:
    """Store each test cell's result (from execute.grade_notebook) in its metadata."""
    by_index = {c.index: c for c in cells}
    for i, cell in enumerate(nb.cells):
        if is_test(cell):
            r = by_index.get(i)
            cell.metadata[VERDICT] = {"points": r.points if r else 0.0, "status": r.status if r else "not run",
                                      "message": r.message if r else ""}


def generate_feedback(root: Path, assignment: str) -> subprocess.CompletedProcess:
    """``nbgrader generate_feedback`` for every graded student (HTML in ``<root>/feedback``)."""
    cmd = [sys.executable, "-m", "nbgrader", "generate_feedback", assignment, "--force", f"--CourseDirectory.root={root}"]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=nbgrader_env(), capture_output=True, text=True)


def grade_ids(nb) -> list[tuple[str, float]]:
    return [(meta(c)["grade_id"], float(meta(c).get("points", 0))) for c in nb.cells if is_test(c)]
