"""The gradebook writes of a large run, through one open gradebook session.

:func:`.nbgrader_io.save` opens nbgrader's :class:`~nbgrader.api.Gradebook` twice per submission (for
the submission, then in nbgrader's ``SaveAutoGrades`` for its scores): a new SQLAlchemy engine each
time, so every query is compiled again. That is CPU work, not disk: measured on 00_welcome
(benchmarks/grading_scale.py), 2.3x the time of the same writes through one session, which
:class:`GradebookWriter` keeps open for the whole run. The scores, comments and commits are
nbgrader's own (``SaveVerdicts``, a commit per cell as in nbgrader), so an interrupted run loses at most
the submission being written.

The client of a Dask run (:mod:`.cluster`) writes through it: its writes are serial while the
cluster grades in parallel, so their rate caps the class's (docs/grading-at-scale.md).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from . import nbgrader_io


class _SharedSave(nbgrader_io.SaveVerdicts):
    """``SaveVerdicts`` on an already open gradebook instead of a new one per notebook."""

    def __init__(self, gradebook: Gradebook, **kw):
        super().__init__(**kw)
        self._open = gradebook

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        self.gradebook = self._open
        return super(SaveAutoGrades, self).preprocess(nb, resources)  # the cell loop, without opening a gradebook


class GradebookWriter:
    """Writes graded submissions into ``<root>/gradebook.db`` through one session (a context manager)."""

    def __init__(self, root: Path, assignment: str):
        self.root, self.assignment = Path(root), assignment
        self.url = nbgrader_io.db_url(self.root)
        self._warnings = warnings.catch_warnings()
        self.gb: Gradebook | None = None

    def __enter__(self) -> GradebookWriter:
        self._warnings.__enter__()
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy session warnings: harmless noise
        self.gb = Gradebook(self.url)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.gb is not None:
                self.gb.close()
        finally:
            self.gb = None
            self._warnings.__exit__(*exc)

    def save(self, result: dict) -> None:
        """One student's result, with the notebooks in ``autograded/`` (as :meth:`.cli.Grader.save`)."""
        if self.gb is None:
            raise RuntimeError("GradebookWriter.save outside its `with` block")
        student = result["student"]
        folder = self.root / "autograded" / student / self.assignment
        nbs = {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}
        if result["status"] == "missing" and not nbs:
            return
        try:
            self.gb.update_or_create_student(student)
            kwargs = {"timestamp": result["timestamp"]} if result.get("timestamp") else {}
            self.gb.update_or_create_submission(self.assignment, student, **kwargs)
            for name, nb in nbs.items():
                resources = {"nbgrader": {"notebook": Path(name).stem, "assignment": self.assignment,
                                          "student": student, "db_url": self.url}}
                _SharedSave(self.gb).preprocess(nb, resources)
        except Exception:
            self.gb.db.rollback()  # the session stays usable for the next student
            raise
