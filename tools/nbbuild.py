"""Small helpers for the scripts in tools/ that write course notebooks with nbformat.

A builder script (``tools/build_<assignment>.py``) lists cells with :func:`md` and :func:`code`,
marks nbgrader cells with :func:`nbg`, and saves with :func:`write_notebook`. Then
``make execute release`` runs the notebook and regenerates the student version.

nbgrader cell kinds (metadata ``nbg(...)``):

* autograded answer: ``nbg("x_answer", solution=True)`` -- code with ``### BEGIN/END SOLUTION``
* autograder tests: ``nbg("x_tests", grade=True, locked=True, points=2)`` -- visible checks, then
  ``### BEGIN/END HIDDEN TESTS``
* manually graded answer: markdown ``nbg("free_response_x", solution=True, grade=True, points=2)``
  (``=== BEGIN MARK SCHEME ===`` ... ``=== END MARK SCHEME ===`` for the instructor)
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent


def nbg(grade_id: str, *, solution=False, grade=False, locked=False, points=None, task=False) -> dict:
    """Cell metadata for one nbgrader cell (schema version 3)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str, **kw):
    """A markdown cell; leading/trailing blank lines of ``text`` are dropped."""
    return new_markdown_cell(text.strip("\n"), **kw)


def code(text: str, **kw):
    """A code cell; leading/trailing blank lines of ``text`` are dropped."""
    return new_code_cell(text.strip("\n"), **kw)


def write_notebook(cells, assignment: str, *, title: str, budget_s: int, gpu: bool = False,
                   name: str | None = None, topics: str | None = None, minutes: int | None = None) -> Path:
    """Save ``cells`` as ``solutions/<assignment>/<name or assignment>.ipynb``.

    ``budget_s`` is the full top-to-bottom run-time budget on a 2-core CPU (seconds), reported by
    the test suite; ``gpu`` marks notebooks where a GPU helps (Colab metadata); ``topics`` and
    ``minutes`` (a student's working time) fill the README's notebook table. ``make release`` adds
    the Colab/Binder badges and the Colab setup cell (instructor/course_instructor/platforms.py).
    """
    nb = new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "course": {"budget_s": budget_s, "title": title, "gpu": gpu},
    }
    if topics is not None:
        nb.metadata["course"]["topics"] = topics
    if minutes is not None:
        nb.metadata["course"]["minutes"] = minutes
    out = REPO / "solutions" / assignment / f"{name or assignment}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    print(f"wrote {out}")
    return out
