"""The class report (course_instructor/grading/class_report.py): its statistics on a made-up class
(fast), and on the round-trip class of 00_welcome graded by course-grade (slow: the pool run of
tests/test_distributed_grading.py, graded once per test process) -- the designed mistakes of
tests/cases/00_welcome.py must be the most frequent failures of their test cells -- opened in Chromium
with a screenshot in test-artifacts/class-report/."""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest
from chromium_helpers import CHROMIUM, launch

from course_instructor.grading import class_report
from roundtrip_cases import CASES

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "class-report"


def _nb(*cells):
    """A source notebook: ("answer"|"test", grade_id, points) per cell."""
    nb = nbformat.v4.new_notebook()
    for kind, gid, pts in cells:
        meta = {"grade_id": gid, "solution": kind == "answer", "grade": kind == "test", "locked": kind == "test"}
        if kind == "test":
            meta["points"] = pts
        nb.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": meta}))
    return nb


def _result(student, points: dict, messages: dict = None, status="graded", notes=(), seconds=1.0):
    qs = [{"grade_id": g, "points": p, "max_points": 1.0, "status": "passed" if p >= 1 else "failed",
           "message": (messages or {}).get(g, "")} for g, p in points.items()]
    return {"student": student, "status": status, "score": sum(points.values()), "max_score": float(len(points)),
            "notes": list(notes), "notebooks": {"a.ipynb": {"questions": qs}}, "cached": False, "seconds": seconds}


SOURCE = {"a.ipynb": _nb(("answer", "f", 0), ("test", "f_t1", 1), ("test", "f_t2", 1), ("answer", "g", 0), ("test", "g_t", 1))}
NAMED = "ExerciseError: f(x (3,)) returns what you get if you forget the bias."


def test_failure_groups():
    assert class_report.failure_group(NAMED) == ("named mistake", "you forget the bias")
    other = "ExerciseError: f(x (5, 2)) returns what you get if you forget the bias."
    assert class_report.failure_group(other) == class_report.failure_group(NAMED)
    assert class_report.failure_group("ExerciseError: y has dtype torch.bool, expected torch.float32.") == ("check", "wrong dtype")
    assert class_report.failure_group("ExerciseError: out is None. Did you forget to `return` the result?")[1].startswith("returned None")
    assert class_report.failure_group("AssertionError: 3 of 12 entries differ by 0.5\nmore") == \
        ("message", "AssertionError: # of # entries differ by #")
    assert class_report.failure_group("") == ("message", "(no message)")


def test_correlation():
    assert class_report.correlation([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(1.0)
    assert class_report.correlation([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)
    assert class_report.correlation([1, 1, 1], [0, 1, 2]) is None  # no variance
    with pytest.raises(ValueError, match="different lengths"):
        class_report.correlation([1, 2], [1])


def test_analysis_of_a_made_up_class():
    """Item-rest correlation, pass rates, named mistakes counted as one, stubs apart, flags."""
    stub = "NotImplementedError: "
    results = [
        _result("s1", {"f_t1": 1, "f_t2": 1, "g_t": 1}),
        _result("s2", {"f_t1": 1, "f_t2": 1, "g_t": 1}),
        _result("s3", {"f_t1": 0, "f_t2": 1, "g_t": 0}, {"f_t1": NAMED, "g_t": stub}),
        _result("s4", {"f_t1": 0, "f_t2": 0, "g_t": 0}, {"f_t1": NAMED.replace("(3,)", "(7, 2)"), "f_t2": "x", "g_t": stub}),
        _result("s5", {"f_t1": 0, "f_t2": 1, "g_t": 1}, {"f_t1": "ValueError: 12 is not 13"},
                notes=["cell 4: flagged for review: sys.settrace was called"]),
        _result("s6", {"f_t1": 0, "f_t2": 0, "g_t": 0}, status="missing"),
    ]
    a = class_report.analyse(results, "demo", SOURCE)
    assert a.groups == {"a: f": ["f_t1", "f_t2"], "a: g": ["g_t"]}
    assert len(a.scores) == 5 and a.statuses["missing"] == 1  # the missing one is not in the statistics
    assert a.top_failures("f_t1")[0] == (("named mistake", "you forget the bias"), 2)
    assert a.unattempted["g_t"] == 2 and not a.failures["g_t"]
    assert a.tests["f_t2"].difficulty == pytest.approx(0.8)
    f = a.items["a: f"]
    rest = [1, 1, 0, 0, 1]
    assert f.points == [2, 2, 1, 0, 1] and f.rest == rest
    assert f.discrimination == pytest.approx(class_report.correlation([2, 2, 1, 0, 1], rest))
    assert [s for s, _, _ in a.flagged] == ["s5"] and "settrace" in a.flagged[0][2]
    page = class_report.render(a)
    assert "s5" in page and "you forget the bias" in page and "http" not in page.replace("http-equiv", "")
    assert len(re.findall(r"src='data:image/png;base64,", page)) == 3


@pytest.fixture(scope="module")
def round_trip_report():
    """The pool run of the 00_welcome round-trip class (shared with tests/test_distributed_grading.py)."""
    from test_distributed_grading import ASSIGNMENT, _course, pool_run

    root, results, _ = pool_run()
    return ASSIGNMENT, root, results, _course()[2]


@pytest.mark.slow
def test_designed_mistakes_are_the_most_frequent_failures(round_trip_report):
    """Every designed mistake of tests/cases/00_welcome.py: the failure its submission got on each test
    cell it must fail is that cell's most frequent failure (ties allowed), and the page shows it."""
    assignment, root, results, members = round_trip_report
    source = {p.name: nbformat.read(p, as_version=4) for p in (root / "solutions" / assignment).glob("*.ipynb")}
    a = class_report.analyse(results, assignment, source)
    page = (root / "grades" / assignment / "report.html").read_text()
    by_student = {r["student"]: {q["grade_id"]: q for nb in r["notebooks"].values() for q in nb["questions"]}
                  for r in results}
    checked = 0
    for student, items in members.items():
        for item in (i for i in items if i.label.startswith("mistake")):
            for test in item.failing:
                q = by_student[student][test]
                assert q["points"] < q["max_points"], (student, test)
                group = class_report.failure_group(q["message"])
                top = a.top_failures(test)
                assert top and dict(top).get(group) == top[0][1], (item.label, test, group, top)
                kind, label = group
                assert f"{html.escape(kind)}: {html.escape(label)}" in page, (item.label, test, group)
                checked += 1
    assert checked >= len(CASES[assignment])


@pytest.mark.slow
def test_report_opens_offline_in_chromium(round_trip_report):
    """The page renders in Chromium with every picture, and requests nothing but itself."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make setup)")
    assignment, root, _, _ = round_trip_report
    page_path = root / "grades" / assignment / "report.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested = []
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requested.append(r.url))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.naturalWidth])")
            page.screenshot(path=str(ARTIFACTS / f"{assignment}-report.png"), full_page=True)
            title = page.title()
        finally:
            browser.close()
    assert title == f"{assignment}: class report"
    assert len(images) >= 3 and all(w > 0 for _, w in images), images
    external = [u for u in requested if not u.startswith(("file:", "data:"))]
    assert not external, external
    assert (ARTIFACTS / f"{assignment}-report.png").stat().st_size > 10_000
