"""Designed wrong answers for the nbgrader round trip, one file per assignment.

``tests/cases/<assignment>.py`` defines ``CASES``: a list of
(answer cell grade_id, student source, grade_ids of the test cells that must fail), optionally with
a 4th element, a dict of options: ``{"alone": True}`` grades that case in a submission of its own
instead of packing it with stubs and mistakes of other answer cells (tests/roundtrip_helpers.py,
``plan_class``; needed only for a dependency the static reading there cannot see).
Every other test cell must still get full marks. Generic cases (each answer left as the stub)
are generated automatically; these add the *common mistakes* each notebook's hidden tests must
catch. One file per assignment keeps lessons written in parallel from editing the same file.
"""
from __future__ import annotations

import runpy
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parent / "cases"


def load_cases(directory: Path = CASES_DIR) -> dict[str, list[tuple]]:
    """Read every ``<assignment>.py`` in ``directory`` into {assignment: cases}."""
    cases: dict[str, list[tuple]] = {}
    for path in sorted(directory.glob("*.py")):
        found = runpy.run_path(str(path)).get("CASES")
        if not isinstance(found, list):
            raise TypeError(f"{path} must define CASES as a list of (answer_id, code, failing_test_ids)")
        for case in found:
            if not (isinstance(case, tuple) and len(case) in (3, 4) and isinstance(case[2], list)
                    and (len(case) == 3 or isinstance(case[3], dict) and set(case[3]) <= {"alone"})):
                raise TypeError(f"{path}: bad case {case!r}; expected (answer_id, code, [test ids][, {{'alone': True}}])")
        cases[path.stem] = found
    return cases


CASES = load_cases()
