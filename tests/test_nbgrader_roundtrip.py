"""The grading round trip of every assignment through ``course-grade``, with exact per-cell scores.

For each assignment in solutions/, a temporary course gets the release (as ``make release``) and
a class (tests/roundtrip_helpers.write_class): the reference solution, the blank release, and every
exercise left as the stub and every designed mistake of tests/cases/<assignment>.py, packed into
as few submissions as keep the check exact (``plan_class``: items on different answer cells that
cannot change each other's tests share a submission, which loses exactly the union of their
tests; ``ROUNDTRIP_PACK=0`` grades each item alone, as before packing: 138 submissions then, 52
packed). The class is graded ONCE, by ``course-grade`` as instructors run it (sandboxed, feedback
included), together with the assignment's hostile corpus if it has one (tests/roundtrip_helpers.graded_class:
the corpus tests of test_grading.py read the same run); every test reads that run: the reference gets full marks and is not flagged, the
blank 0, each stub or mistake loses exactly its test cells' points -- in course-grade's results,
its grades.csv, nbgrader's gradebook and export, and the feedback (which shows no hidden test).

What only plain nbgrader checks (the repository's nbgrader_config.py, ``nbgrader validate`` as
students run it, ``nbgrader autograde``) is checked once, on 00_welcome, in
:func:`test_plain_nbgrader_round_trip`.
"""
from __future__ import annotations

import csv
import html
import os
import re

import nbformat
import pytest

from course_instructor.release import assignments
from roundtrip_cases import CASES
from roundtrip_helpers import (
    REPO,
    SANDBOX_OK,
    SANDBOX_WHY,
    grade_id,
    graded_class,
    is_manual_answer,
    make_course,
    nbgrader,
    scores,
    validate,
    write_class,
)

pytestmark = pytest.mark.slow

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS[^\n]*\n(.*?)### END HIDDEN TESTS", re.S)


@pytest.fixture(scope="module", params=assignments(REPO))
def graded(request, tmp_path_factory):
    """The assignment's class, graded once (tests/roundtrip_helpers.graded_class: with its hostile corpus, if any)."""
    if not SANDBOX_OK and os.environ.get("CI"):
        pytest.fail(f"CI must grade in the sandbox: {SANDBOX_WHY}")
    graded = graded_class(request.param, tmp_path_factory)
    _MEMBERS.update(graded.members)
    return graded.assignment, graded.root, graded.expected, graded.results


_MEMBERS: dict[str, list] = {}  # student -> the stubs and mistakes packed into that submission


def _what(student: str) -> str:
    items = _MEMBERS.get(student)
    return f"{student} [{', '.join(i.label for i in items)}]" if items and len(items) > 1 else student


def _by_question(result) -> dict[str, dict]:
    return {q["grade_id"]: q for nb in result["notebooks"].values() for q in nb["questions"]}


def test_reference_gets_full_marks_unflagged(graded):
    _, _, expected, results = graded
    ref = results["reference"]
    lost = {gid: q for gid, q in _by_question(ref).items() if q["points"] != q["max_points"]}
    assert not lost, f"the instructor's solution loses points: {lost}"
    assert ref["status"] == "graded" and not ref["notes"], ref["notes"]
    assert ref["score"] == sum(sum(v.values()) for (s, _), v in expected.items() if s == "reference")


def test_exact_scores(graded):
    """Reference full, blank 0, each stub and mistake loses exactly its tests' points."""
    _, _, expected, results = graded
    failures = []
    for (student, _), want in sorted(expected.items()):
        got = {gid: q["points"] for gid, q in _by_question(results[student]).items() if gid in want}
        if got != want:
            detail = {gid: q["message"][:200] for gid, q in _by_question(results[student]).items()
                      if q["points"] != want.get(gid)}
            failures.append(f"{_what(student)}: expected {want}, got {got} {detail} {results[student]['notes']}")
        elif results[student]["status"] != "graded":
            failures.append(f"{_what(student)}: status {results[student]['status']} {results[student]['notes']}")
    assert not failures, "\n".join(failures) + ("\n(a pack: ROUNDTRIP_PACK=0 grades each of its items alone)"
                                                if any(len(m) > 1 for m in _MEMBERS.values()) else "")


def test_gradebook_and_export_agree(graded):
    """nbgrader's gradebook holds the same per-cell scores, manual answers await the instructor,
    and ``nbgrader export`` gives every student the autograded total."""
    assignment, root, expected, results = graded
    for (student, name), want in expected.items():
        got = scores(root, assignment, name.removesuffix(".ipynb"), student)
        assert {k: got[k] for k in want} == want, student
        if student == "reference":
            source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
            manual = [grade_id(c) for c in source.cells if is_manual_answer(c)]
            assert manual, f"{name} needs at least one manually graded answer"
            assert all(got[m] is None for m in manual), got
    path = root / "export.csv"
    nbgrader("export", f"--to={path}", root=root)
    exported = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(path.open()) if r["assignment"] == assignment}
    missing = {s for s, r in results.items() if r["status"] == "missing"}  # a hostile case without a notebook
    assert sorted(set(exported) | missing) == sorted(results)
    for student, res in results.items():
        assert exported.get(student, 0.0) == pytest.approx(res["score"]), student


def test_grades_csv_totals(graded):
    assignment, root, _, results = graded
    with open(root / "grades" / assignment / "grades.csv") as fh:
        totals = {r["student"]: float(r["points"]) for r in csv.DictReader(fh) if r["question"] == "(total)"}
    assert totals == {s: r["score"] for s, r in results.items()}


def test_feedback_for_everyone_without_hidden_tests(graded):
    assignment, root, expected, _ = graded
    hidden = set()  # hidden-test lines that appear nowhere in what students see
    for path in (root / "solutions" / assignment).glob("*.ipynb"):
        visible = "\n".join(c.source for c in nbformat.read(root / "notebooks" / assignment / path.name, as_version=4).cells)
        for cell in nbformat.read(path, as_version=4).cells:
            for block in _HIDDEN.findall(cell.source):
                hidden |= {line.strip() for line in block.splitlines() if len(line.strip()) >= 20 and line.strip() not in visible}
    for student, name in expected:
        page = root / "feedback" / student / assignment / name.replace(".ipynb", ".html")
        assert page.is_file(), f"no feedback for {student}/{name}"
        text = html.unescape(page.read_text())
        assert "Score:" in text
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"hidden test code in {student}'s feedback: {leaked[:3]}"


# -- plain nbgrader, once ---------------------------------------------------------------------

def test_plain_nbgrader_round_trip(tmp_path):
    """The repository's nbgrader_config.py with nbgrader's own commands, as instructors who do not
    use course-grade work: the source passes ``nbgrader validate`` and the release fails it (what
    students see from the Validate button); ``nbgrader autograde`` gives the reference full marks,
    the blank 0 and a designed mistake exactly its loss; feedback follows."""
    assignment = "00_welcome"
    root = make_course(tmp_path, assignment)
    for path in sorted((root / "solutions" / assignment).glob("*.ipynb")):
        proc = validate(path)
        assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout + proc.stderr
    for path in sorted((root / "notebooks" / assignment).glob("*.ipynb")):
        proc = validate(path, invert=True)
        assert "Success! The notebook does not pass any tests." in proc.stdout, proc.stdout + proc.stderr
    # reference, blank and one designed mistake: course-grade grades the whole class above
    expected, _ = write_class(root, assignment, CASES[assignment][:1], stubs=False)
    proc = nbgrader("autograde", assignment, "--force", root=root)
    assert "[AutogradeApp | ERROR]" not in proc.stdout + proc.stderr
    for (student, name), want in expected.items():
        got = scores(root, assignment, name.removesuffix(".ipynb"), student)
        assert {k: got[k] for k in want} == want, student
    nbgrader("generate_feedback", assignment, "--force", root=root)
    for student, name in expected:
        assert "Score:" in (root / "feedback" / student / assignment / name.replace(".ipynb", ".html")).read_text()
