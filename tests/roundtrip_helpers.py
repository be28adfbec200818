"""Helpers for the nbgrader round-trip tests: read nbgrader cells, build submissions, grade."""
from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from course_instructor.release import generate, nbgrader_env
from kernel_helpers import run_with_retry

REPO = Path(__file__).resolve().parent.parent
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_SOLUTION_RE = re.compile(r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return meta(cell).get("grade_id")


def is_autograded_answer(cell) -> bool:
    m = meta(cell)
    return cell.cell_type == "code" and bool(m.get("solution")) and not m.get("grade")


def is_test(cell) -> bool:
    m = meta(cell)
    return cell.cell_type == "code" and bool(m.get("grade")) and not m.get("solution")


def is_manual_answer(cell) -> bool:
    m = meta(cell)
    return bool(m.get("solution")) and bool(m.get("grade"))


def exercises(nb) -> dict[str, list[tuple[str, float]]]:
    """Map each autograded answer cell's grade_id to the test cells (id, points) after it.

    A test cell belongs to the nearest autograded answer cell above it.
    """
    result: dict[str, list[tuple[str, float]]] = {}
    current = None
    for cell in nb.cells:
        if is_autograded_answer(cell):
            current = grade_id(cell)
            result[current] = []
        elif is_test(cell):
            if current is None:
                raise AssertionError(f"test cell {grade_id(cell)} has no answer cell above it")
            result[current].append((grade_id(cell), float(meta(cell)["points"])))
    return result


def points_of(nb) -> dict[str, float]:
    """Autograded test cells: grade_id -> points."""
    return {grade_id(c): float(meta(c)["points"]) for c in nb.cells if is_test(c)}


def solution_code(source_cell) -> str:
    """The code a student would write: the instructor cell with the solution markers removed."""
    return _SOLUTION_RE.sub(lambda m: m.group(1), source_cell.source)


def reference_submission(release_nb, source_nb):
    """The release with every answer cell filled in from the instructor version."""
    sub = copy.deepcopy(release_nb)
    answers = {grade_id(c): c for c in source_nb.cells if meta(c).get("solution")}
    for cell in sub.cells:
        gid = grade_id(cell)
        if meta(cell).get("solution") and gid in answers:
            src = answers[gid]
            cell.source = solution_code(src) if cell.cell_type == "code" else src.source
    return sub


def with_answer(nb, answer_id: str, source: str):
    """A copy of ``nb`` whose answer cell ``answer_id`` holds ``source``."""
    sub = copy.deepcopy(nb)
    cells = [c for c in sub.cells if grade_id(c) == answer_id]
    assert len(cells) == 1, f"no single answer cell {answer_id!r}"
    cells[0].source = source
    return sub


# A hard limit per nbgrader command (autograding every case of one assignment takes 1-5 min
# here), so that a stuck kernel is retried once instead of stalling CI (see kernel_helpers).
TIMEOUT_S = 900


def _run_nbgrader(args: list[str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", *args]
    return run_with_retry(cmd, timeout=TIMEOUT_S, cwd=REPO, env=nbgrader_env())


def nbgrader(*args: str, root: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command for the course rooted at ``root`` with the repository's config."""
    proc = _run_nbgrader([*args, f"--CourseDirectory.root={root}"])
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def validate(path: Path, invert: bool = False) -> subprocess.CompletedProcess:
    return _run_nbgrader(["validate", str(path)] + (["--invert"] if invert else []))


def make_course(tmp: Path, assignment: str) -> Path:
    """A throwaway nbgrader course holding one assignment's source, released (as `make release`
    does) into its own notebooks/ and gradebook."""
    root = tmp / "course"
    shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
    generate([assignment], root=root)
    return root


def write_submission(root: Path, student: str, assignment: str, name: str, nb) -> None:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def write_class(root: Path, assignment: str, cases: list[tuple[str, str, list[str]]], stubs: bool = True) -> dict[tuple[str, str], dict[str, float]]:
    """Submit a whole class of ``assignment`` into ``<root>/submitted`` and say what each must score.

    Students: ``reference`` (the instructor's answers: full marks), ``blank`` (the release: 0),
    ``stub-<answer id>`` (that answer left as the stub: its tests score 0) and
    (unless not ``stubs``), ``mistake<i>-<answer id>`` (``cases[i]``, a designed mistake: the listed tests score 0).
    Returns {(student, notebook name): {test grade_id: expected points}}.
    """
    expected: dict[tuple[str, str], dict[str, float]] = {}
    names = sorted(p.name for p in (root / "notebooks" / assignment).glob("*.ipynb"))
    assert names, f"nothing released for {assignment}"
    for name in names:
        source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
        release = nbformat.read(root / "notebooks" / assignment / name, as_version=4)
        points = points_of(source)
        reference = reference_submission(release, source)
        students = {"reference": (reference, []), "blank": (release, list(points))}
        for answer_id, tests in (exercises(source) if stubs else {}).items():
            students[f"stub-{answer_id}"] = (with_answer(reference, answer_id, STUB), [t for t, _ in tests])
        for i, (answer_id, code, failing) in enumerate(cases):
            students[f"mistake{i}-{answer_id}"] = (with_answer(reference, answer_id, code), failing)
        for student, (nb, failing) in students.items():
            write_submission(root, student, assignment, name, nb)
            expected[(student, name)] = {k: (0.0 if k in failing else v) for k, v in points.items()}
    return expected


def scores(root: Path, assignment: str, notebook: str, student: str) -> dict[str, float | None]:
    """Per-cell scores from the gradebook: grade_id -> score (None if it awaits manual grading)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(notebook, assignment, student)
        return {g.name: (None if g.needs_manual_grade else float(g.score)) for g in nb.grades}
