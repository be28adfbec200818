"""The nbgrader round trip for every assignment, with exact per-cell scores.

For each assignment in solutions/: the source passes ``nbgrader validate``; the release fails it
(``--invert``); autograding gives full marks to the reference solution, 0 (without error) to the
blank release, and to a submission with one exercise wrong (left as the stub, or one of the
common mistakes in tests/cases/<assignment>.py) a score lower by exactly that exercise's points; then
feedback is generated for everyone and the exported grades.csv carries the same totals.
"""
from __future__ import annotations

import csv
import time

import nbformat
import pytest

from course_instructor.release import assignments
from roundtrip_cases import CASES
from roundtrip_helpers import (
    REPO,
    STUB,
    exercises,
    grade_id,
    is_manual_answer,
    make_course,
    nbgrader,
    reference_submission,
    scores,
    points_of,
    validate,
    with_answer,
    write_submission,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=assignments(REPO))
def graded(request, tmp_path_factory):
    """Release one assignment into a temporary course, submit every case, autograde once."""
    assignment = request.param
    root = make_course(tmp_path_factory.mktemp(assignment), assignment)
    notebooks = sorted(p.name for p in (root / "notebooks" / assignment).glob("*.ipynb"))
    assert notebooks, f"nothing released for {assignment}"
    expected: dict[tuple[str, str], dict[str, float]] = {}
    for name in notebooks:
        source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
        release = nbformat.read(root / "notebooks" / assignment / name, as_version=4)
        points = points_of(source)
        full = dict(points)
        reference = reference_submission(release, source)
        write_submission(root, "reference", assignment, name, reference)
        expected[("reference", name)] = full
        write_submission(root, "blank", assignment, name, release)
        expected[("blank", name)] = {k: 0.0 for k in points}
        for answer_id, tests in exercises(source).items():
            student = f"stub-{answer_id}"
            write_submission(root, student, assignment, name, with_answer(reference, answer_id, STUB))
            expected[(student, name)] = {k: (0.0 if k in dict(tests) else v) for k, v in points.items()}
        for i, (answer_id, code, failing) in enumerate(CASES.get(assignment, [])):
            student = f"mistake{i}-{answer_id}"
            write_submission(root, student, assignment, name, with_answer(reference, answer_id, code))
            expected[(student, name)] = {k: (0.0 if k in failing else v) for k, v in points.items()}
    start = time.perf_counter()
    proc = nbgrader("autograde", assignment, "--force", root=root)
    seconds = time.perf_counter() - start
    students = {s for s, _ in expected}
    print(f"\nautograded {len(students)} submissions of {assignment} in {seconds:.1f} s "
          f"({seconds / len(students):.1f} s each)")
    return assignment, root, expected, proc


def test_source_passes_validate(graded):
    assignment, root, _, _ = graded
    for path in sorted((root / "solutions" / assignment).glob("*.ipynb")):
        proc = validate(path)
        assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout + proc.stderr


def test_release_fails_validate(graded):
    assignment, root, _, _ = graded
    for path in sorted((root / "notebooks" / assignment).glob("*.ipynb")):
        proc = validate(path, invert=True)
        assert "Success! The notebook does not pass any tests." in proc.stdout, proc.stdout + proc.stderr


def test_autograde_reports_no_errors(graded):
    _, _, _, proc = graded
    log = proc.stdout + proc.stderr
    assert "[AutogradeApp | ERROR]" not in log, log


def _auto_scores(root, assignment, name, student, test_ids):
    got = scores(root, assignment, name.removesuffix(".ipynb"), student)
    return {k: got[k] for k in test_ids}


def test_exact_scores(graded):
    assignment, root, expected, _ = graded
    failures = []
    for (student, name), want in sorted(expected.items()):
        got = _auto_scores(root, assignment, name, student, want)
        if got != want:
            failures.append(f"{student}/{name}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)


def test_reference_leaves_manual_cells_for_the_instructor(graded):
    assignment, root, expected, _ = graded
    for (student, name), _ in expected.items():
        if student != "reference":
            continue
        got = scores(root, assignment, name.removesuffix(".ipynb"), student)
        source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
        manual = [grade_id(c) for c in source.cells if is_manual_answer(c)]
        assert manual, f"{name} needs at least one manually graded answer"
        assert all(got[m] is None for m in manual), got


def test_feedback_and_grade_export(graded):
    """The instructor's last steps: feedback for every student, then one CSV of grades whose
    scores are the autograded totals (manual points pending, so the reference is not yet full)."""
    assignment, root, expected, _ = graded
    nbgrader("generate_feedback", assignment, "--force", root=root)
    students = sorted({s for s, _ in expected})
    names = sorted({n for _, n in expected})
    for student in students:
        for name in names:
            html = root / "feedback" / student / assignment / name.replace(".ipynb", ".html")
            assert html.is_file(), f"no feedback for {student}/{name}"
            assert "Score:" in html.read_text()
    csv_path = root / "grades.csv"
    nbgrader("export", f"--to={csv_path}", root=root)
    rows = {r["student_id"]: r for r in csv.DictReader(csv_path.open()) if r["assignment"] == assignment}
    assert sorted(rows) == students
    for student in students:
        want = sum(sum(expected[(student, n)].values()) for n in names)
        assert float(rows[student]["raw_score"]) == pytest.approx(want), student
