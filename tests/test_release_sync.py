"""notebooks/ is exactly what `make lessons` makes from solutions/, and leaks nothing.

Regenerates every assignment into a temporary folder the way `make lessons` releases a lesson
it need not re-run (course_instructor.lessons: the committed instructor notebook, its figures taken
back from notebooks/ by cell id, nbgrader with the repository's configuration) and compares it
with the committed notebooks/; then scans notebooks/ for any solution region, hidden test or
mark scheme text from solutions/. (tests/test_lessons.py checks the outputs are not stale.)
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from course_instructor.lessons import release_all, release_sources
from course_instructor.release import assignments
from roundtrip_helpers import REPO, grade_id, meta

pytestmark = pytest.mark.slow

ASSIGNMENTS = assignments(REPO)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    release_all(release_sources(ASSIGNMENTS, REPO), root=REPO, release_dir=out / "notebooks",
                db_url=f"sqlite:///{out / 'gradebook.db'}")
    return out / "notebooks"


def test_every_assignment_is_released():
    released = sorted(p.name for p in (REPO / "notebooks").iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, "notebooks/ and solutions/ list different assignments: run `make lessons`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_in_sync(regenerated, assignment):
    fresh = sorted(p.name for p in (regenerated / assignment).glob("*.ipynb"))
    committed = sorted(p.name for p in (REPO / "notebooks" / assignment).glob("*.ipynb"))
    assert fresh == committed, "run `make lessons`"
    for name in fresh:
        a = json.loads((regenerated / assignment / name).read_text())
        b = json.loads((REPO / "notebooks" / assignment / name).read_text())
        assert a == b, f"notebooks/{assignment}/{name} is out of date with solutions/: run `make lessons`"


_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)(.*?)### END \1", re.S)


def _secret_lines(source_nb) -> set[str]:
    """Lines that must never reach students: solution regions, hidden tests, mark schemes,
    and the whole text of manually graded answers (their model answers)."""
    secrets, public = set(), set()
    for cell in source_nb.cells:
        for match in _REGION.finditer(cell.source):
            secrets.update(line.strip() for line in match.group(2).splitlines())
        m = meta(cell)
        if cell.cell_type == "markdown" and m.get("solution"):
            secrets.update(line.strip() for line in cell.source.splitlines())
        else:
            public.update(line.strip() for line in _REGION.sub("", cell.source).splitlines())
    # Lines the students see anyway (a hidden test may repeat a visible line), and lines too
    # generic to be a leak on their own (blank, brackets, `return x`-sized lines).
    return {s for s in secrets - public if len(s) >= 12}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_solution_or_hidden_test_in_release(assignment):
    for src_path in sorted((REPO / "solutions" / assignment).glob("*.ipynb")):
        source = nbformat.read(src_path, as_version=4)
        secrets = _secret_lines(source)
        assert secrets, f"{src_path.name} has no solution, hidden test or model answer at all"
        released_text = (REPO / "notebooks" / assignment / src_path.name).read_text()
        released = nbformat.reads(released_text, as_version=4)
        lines = {line.strip() for c in released.cells for line in c.source.splitlines()}
        outputs = json.dumps([c.get("outputs", []) for c in released.cells])
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
            assert marker not in released_text, f"{marker!r} found in the release of {src_path.name}"
        leaked = sorted(s for s in secrets if s in lines or json.dumps(s)[1:-1] in outputs)
        assert not leaked, f"release of {src_path.name} contains instructor-only lines: {leaked[:5]}"
        for cell in released.cells:
            if meta(cell).get("grade") or meta(cell).get("solution"):
                assert not cell.get("outputs"), f"graded cell {grade_id(cell)} kept its outputs in the release"
