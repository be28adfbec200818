"""After grading: what still waits for a person, the students' feedback, and the export for an LMS.

    course-grade feedback 00_welcome   # feedback/<student>/00_welcome/*.html, with manual scores and comments
    course-grade export 00_welcome     # grades/00_welcome/lms.csv: one row per student

Both read nbgrader's gradebook (``<root>/gradebook.db``), where ``course-grade`` writes the
automatic scores and the formgrader (``make formgrade``) the manual scores and comments, so run
them after grading by hand; they can be re-run at any time (feedback is always regenerated).

Late penalties are nbgrader's: the assignment's due date (``nbgrader db assignment add
<assignment> --duedate=...``, or the formgrader's "Manage assignments" page), the submission
timestamps ``course-grade`` recorded (see :mod:`.collect`) and the penalty method
(``LateSubmissionPlugin.penalty_method`` in ``nbgrader_config.py``). nbgrader computes the penalty
when it autogrades, before anything was graded by hand; both commands here compute it again on the
current score, so a penalty covers the manual points too.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from ..release import REPO_ROOT
from . import nbgrader_io
from .repair import GRADER_NOTE

EXPORT_FIELDS = ["student", "assignment", "timestamp", "seconds_late", "autograded", "manual", "late_penalty",
                 "total", "max_score", "pending_manual"]


class DropGraderNotes(NbGraderPreprocessor):
    """Feedback preprocessor (nbgrader_config.py): removes the cells meant only for the grader
    (the model answer and mark scheme next to each hand-graded answer, :func:`.repair.add_grader_notes`)."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(GRADER_NOTE)]
        return nb, resources


@dataclass
class Manual:
    """The hand-graded part of one assignment, over the students with a submission."""

    points: float  # points of the cells graded by hand (out of the assignment's total)
    cells: int  # such cells per submission
    pending: dict[str, float]  # student -> points still waiting for a person


@contextlib.contextmanager
def _gradebook(root: Path):
    """The course's gradebook, open, with nbgrader's own SQLAlchemy warnings silenced (harmless noise)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(nbgrader_io.db_url(root)) as gb:
            yield gb


def _submissions(gb, assignment: str) -> list:
    """The gradebook's submissions of ``assignment``; none when it was never graded."""
    try:
        return gb.find_assignment(assignment).submissions
    except MissingEntry:
        return []


def _is_manual(grade) -> bool:
    """A cell only a person scores (a written answer): nbgrader gave it no automatic score."""
    return grade.auto_score is None


def manual_status(root: Path, assignment: str) -> Manual:
    """How many points of ``assignment`` are graded by hand, and which students still wait for them."""
    points, cells, pending = 0.0, 0, {}
    with _gradebook(root) as gb:
        for sub in _submissions(gb, assignment):
            grades = [g for nb in sub.notebooks for g in nb.grades]
            manual = [g for g in grades if _is_manual(g)]
            if len(manual) >= cells:
                points, cells = sum(g.max_score for g in manual), len(manual)
            waiting = sum(g.max_score for g in grades if g.needs_manual_grade)
            if waiting:
                pending[sub.student.id] = waiting
    return Manual(points, cells, pending)


def apply_late_penalties(root: Path, assignment: str) -> None:
    """nbgrader's late penalty (its ``LateSubmissionPlugin``, configured in nbgrader_config.py) on
    each notebook's current score, manual points included."""
    from nbgrader.preprocessors import AssignLatePenalties

    assigner = AssignLatePenalties(config=_config(root))
    assigner.init_plugin()
    with _gradebook(root) as gb:
        for sub in _submissions(gb, assignment):
            late = sub.total_seconds_late
            for nb in sub.notebooks:
                penalty = None
                if late > 0:
                    penalty = assigner.plugin_inst.late_submission_penalty(sub.student.id, nb.score, late)
                    if penalty is not None:
                        penalty = min(max(penalty, 0.0), nb.score)
                nb.late_submission_penalty = penalty
        gb.db.commit()


def _config(root: Path):
    """The course's nbgrader configuration: ``<root>/nbgrader_config.py``, else the repository's."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(root) / "nbgrader_config.py"
    if not path.is_file():
        path = REPO_ROOT / "nbgrader_config.py"
    if not path.is_file():
        return Config()
    loader = PyFileConfigLoader(path.name, str(path.parent))
    try:
        return loader.load_config()
    except Exception:  # noqa: BLE001 - the penalty method then is nbgrader's default ("none")
        return Config()


def feedback(root: Path, assignment: str, *, quiet: bool = False) -> int:
    """Regenerate every student's feedback (``<root>/feedback/<student>/<assignment>/``) from the
    gradebook: automatic and manual scores, the grader's comments, late penalty. Returns nbgrader's exit code."""
    root = Path(root).resolve()
    apply_late_penalties(root, assignment)
    proc = nbgrader_io.generate_feedback(root, assignment)
    if proc.returncode != 0:
        print(f"error: nbgrader generate_feedback failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
    elif not quiet:
        n = len(list((root / "feedback").glob(f"*/{assignment}")))
        print(f"feedback for {n} student(s): {root / 'feedback'}/<student>/{assignment}/")
        status = manual_status(root, assignment)
        if status.pending:
            print(f"warning: {len(status.pending)} student(s) still wait for grading by hand (make formgrade): "
                  f"{', '.join(sorted(status.pending))}", file=sys.stderr)
    return proc.returncode


def rows(root: Path, assignment: str) -> list[dict]:
    """One row per student of the gradebook: submission time, late seconds, autograded, manual and total points."""
    out = []
    with _gradebook(root) as gb:
        a = gb.find_assignment(assignment)
        max_score = a.max_score
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                out.append({"student": student.id, "assignment": assignment, "timestamp": "", "seconds_late": 0,
                            "autograded": 0.0, "manual": 0.0, "late_penalty": 0.0, "total": 0.0,
                            "max_score": max_score, "pending_manual": 0.0})
                continue
            grades = [g for nb in sub.notebooks for g in nb.grades]
            manual = sum(g.score for g in grades if _is_manual(g))
            penalty = float(sub.late_submission_penalty or 0.0)
            out.append({
                "student": student.id, "assignment": assignment,
                "timestamp": sub.timestamp.isoformat() + "Z" if sub.timestamp else "",
                "seconds_late": round(sub.total_seconds_late), "autograded": round(sub.score - manual, 4),
                "manual": round(manual, 4), "late_penalty": round(penalty, 4),
                "total": round(sub.score - penalty, 4), "max_score": max_score,
                "pending_manual": sum(g.max_score for g in grades if g.needs_manual_grade)})
    return out


def export(root: Path, assignment: str, out: Path | None = None) -> Path:
    """``grades/<assignment>/lms.csv``: one row per student (see :data:`EXPORT_FIELDS`)."""
    root = Path(root).resolve()
    try:
        with Gradebook(nbgrader_io.db_url(root)) as gb:
            gb.find_assignment(assignment)
    except MissingEntry:
        raise SystemExit(f"error: {assignment} is not in {root / 'gradebook.db'}: grade it first (course-grade {assignment})") from None
    apply_late_penalties(root, assignment)
    table = rows(root, assignment)
    path = Path(out) if out else root / "grades" / assignment / "lms.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        writer.writerows(table)
    return path


def main(argv: list[str]) -> int:
    """``course-grade feedback|export <assignment> [--root R] [--out F]``."""
    p = argparse.ArgumentParser(prog=f"course-grade {argv[0] if argv else ''}".strip(), description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["feedback", "export"])
    p.add_argument("assignment")
    p.add_argument("--root", type=Path, default=Path.cwd() if (Path.cwd() / "nbgrader_config.py").is_file() else REPO_ROOT,
                   help="course root with gradebook.db (default: here)")
    p.add_argument("--out", type=Path, help="export: the CSV to write (default: <root>/grades/<assignment>/lms.csv)")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    if not (a.root / "gradebook.db").is_file():
        raise SystemExit(f"error: no gradebook at {a.root / 'gradebook.db'}: grade first (course-grade {a.assignment})")
    if a.command == "feedback":
        return feedback(a.root, a.assignment, quiet=a.quiet)
    path = export(a.root, a.assignment, a.out)
    if not a.quiet:
        status = manual_status(a.root, a.assignment)
        print(f"{a.assignment}: {path}")
        if status.pending:
            print(f"warning: {len(status.pending)} student(s) still wait for grading by hand: their manual points "
                  f"count 0 ({', '.join(sorted(status.pending))})", file=sys.stderr)
    return 0



def summary_line(status: Manual, autograded_max: float, students: int, assignment: str) -> str:
    """The grading summary's line on hand grading, e.g. "out of 6: 4 autograded, 2 graded by hand: 3 of 3 students pending"."""
    if not status.points:
        return ""
    total = autograded_max + status.points
    waiting = (f"{len(status.pending)} of {students} student(s) pending: make formgrade, then "
               f"course-grade feedback {assignment}") if status.pending else "all graded"
    return f"  out of {total:g} in all: {autograded_max:g} autograded, {status.points:g} graded by hand: {waiting}"
