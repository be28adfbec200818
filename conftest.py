"""Shared test configuration.

- Notebook tests (nbval on solutions/) run the *full* lessons (COURSE_FAST=0), so the numbers
  saved in the instructor notebooks are the ones checked; nbgrader sets NBGRADER_EXECUTION,
  which keeps grading in fast mode regardless.
- stderr is never compared by nbval (see below).
- At the end of a run, a table gives each notebook's execution time against its budget
  (``metadata.course.budget_s`` in the notebook). Budgets are reported, not enforced: timing
  targets belong in benchmarks, and a loaded CI machine must not turn them into flaky tests.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import nbval.plugin
import pytest

REPO = Path(__file__).resolve().parent
os.environ["COURSE_FAST"] = "0"

# stderr is not compared: torch or a library may warn on one machine and not another. nbval
# merges each cell's streams (saved and fresh) with coalesce_streams before comparing; drop the
# stderr ones there.
_coalesce_streams = nbval.plugin.coalesce_streams


def _coalesce_without_stderr(outputs):
    kept = [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return _coalesce_streams(kept)


nbval.plugin.coalesce_streams = _coalesce_without_stderr

_notebook_seconds: dict[str, float] = defaultdict(float)
_notebook_failed: set[str] = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration
        if report.failed:
            _notebook_failed.add(path)


def _budget(path: str):
    try:
        meta = json.loads((REPO / path).read_text())["metadata"]
        return meta.get("course", {}).get("budget_s")
    except (OSError, ValueError, KeyError):
        return None


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.write_sep("=", "notebook run times (full mode, this machine)")
    for path in sorted(_notebook_seconds):
        secs = _notebook_seconds[path]
        budget = _budget(path)
        verdict = "" if budget is None else ("within budget" if secs <= budget else "OVER BUDGET")
        budget_txt = "no budget" if budget is None else f"budget {budget:>4} s"
        status = " (failed)" if path in _notebook_failed else ""
        tr.write_line(f"{path:60s} {secs:7.1f} s   {budget_txt}  {verdict}{status}")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


# --- parallel scheduling ---------------------------------------------------------------------
# `make test` runs pytest-xdist. Items are scheduled by file (a notebook's nbval cells must run in
# order in one kernel, and module fixtures are shared), except the grading round trip, whose
# assignments are independent units so they spread over the workers instead of queueing on one.
# Each assignment's class is graded once per process (tests/roundtrip_helpers.graded_class) and
# read by the round trip AND by the hostile corpus tests of test_grading.py (and CLASS_READERS):
# a test of either file parametrized with an assignment joins that assignment's unit, so one
# worker grades it once.
# (xdist's own --dist loadgroup cannot be used: with pytest 9 its group suffix is lost.)
# Whenever a worker asks for work it gets the costliest unit left (longest first keeps the two
# workers' finishing times close): the estimates below are a fresh clone's measured seconds on
# 2 cores; a notebook costs its budget_s; any other file a few seconds per test.
ASSIGNMENTS = {p.name for p in (REPO / "solutions").glob("*") if p.is_dir()}
SHARED_CLASS = {"tests/test_nbgrader_roundtrip.py", "tests/test_grading.py"}
CLASS_UNIT = "grading class::"
# Other tests that read an assignment's graded class (roundtrip_helpers.INSTRUCTOR_AS_STUDENT).
CLASS_READERS = {"tests/test_forgery.py::test_instructor_solution_of_01_activations_scores_full_marks": "01_activations"}
# Files that read another file's once-per-process grading run (the class report reads the Dask tests' pool run).
SAME_UNIT = {"tests/test_class_report.py": "tests/test_distributed_grading.py"}
COST_S = {f"{CLASS_UNIT}00_welcome": 280, CLASS_UNIT: 150, "tests/test_nbgrader_roundtrip.py": 60, "tests/test_grading.py": 40,
          "tests/test_student_repo.py": 170, "tests/test_install.py": 40, "tests/test_forgery.py": 120,
          "tests/test_browser.py": 60, "tests/test_distributed_grading.py": 150, "tests/test_site.py": 60,
          "tests/test_grading_cycle.py": 60, "tests/test_student_package.py": 60, "tests/test_make_lab.py": 40,
          "tests/test_widgets7.py": 50, "tests/test_release_sync.py": 60, "tests/test_platforms.py": 30}


def _cost(scope: str, tests: int) -> float:
    if scope in COST_S:
        return COST_S[scope]
    for prefix, seconds in COST_S.items():
        if prefix.endswith("::") and scope.startswith(prefix):
            return seconds
    if scope.endswith(".ipynb"):
        return float(_budget(scope) or 60)
    return 2.0 * tests


def work_unit(nodeid: str) -> str:
    """The scheduling unit of a test: its file, or the grading class of its assignment."""
    if nodeid in CLASS_READERS:
        return f"{CLASS_UNIT}{CLASS_READERS[nodeid]}"
    path = nodeid.split("::", 1)[0]
    path = SAME_UNIT.get(path, path)
    if path in SHARED_CLASS and nodeid.endswith("]") and "[" in nodeid:
        param = nodeid[nodeid.rindex("[") + 1:-1]
        if param in ASSIGNMENTS:
            return f"{CLASS_UNIT}{param}"
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

        def _assign_work_unit(self, node) -> None:
            costliest = max(self.workqueue, key=lambda scope: _cost(scope, len(self.workqueue[scope])))
            self.workqueue.move_to_end(costliest, last=False)
            super()._assign_work_unit(node)

        def _reschedule(self, node) -> None:
            # xdist gives a worker its next unit once <= 2 of its tests are left. A worker needs one test queued
            # behind the one it runs (xdist.remote.run_one_test waits for it), so give it when 1 is left: a unit
            # is then tied to a busy worker for its last test only, and an idle worker can take it meanwhile.
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            if self._pending_of(self.assigned_work[node]) <= 1:
                self._assign_work_unit(node)

    return CourseScheduling(config, log)
