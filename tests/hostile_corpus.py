"""The hostile-submission corpus: builds each case's submission and states its exact outcome.

``tests/hostile/<assignment>.py`` defines ``CASES``, a list of :class:`Case`. A case starts from
the reference submission (the release with every answer filled in from the instructor version),
replaces some answer cells (``answers``), then optionally edits the notebook (``edit``: returns a
notebook, raw bytes to write instead, or None for "no notebook file"). ``{ROOT}`` in an answer
is replaced by the absolute course root, so probes can aim at the real gradebook, solutions
and other students' files.

Probe cases ("can the submission read X?") define the answer so that it is only right if the
probe failed: a sandbox leak turns into lost points, which the exact scores catch.
"""
from __future__ import annotations

import copy
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from roundtrip_helpers import grade_id, reference_submission

HOSTILE_DIR = Path(__file__).resolve().parent / "hostile"


@dataclass
class Case:
    name: str
    status: str  # graded | timed out | crashed | invalid | missing
    scores: dict[str, float]  # test grade_id -> points
    answers: dict[str, str] = field(default_factory=dict)
    edit: Callable | None = None
    filename: str | None = None  # default: the assignment's notebook name
    why: str = ""
    # False for cases that must not run unsandboxed on a shared machine even under rlimits
    plain_safe: bool = True


def probe(condition_code: str, function: str, right: str, wrong: str) -> str:
    """Answer code that runs ``condition_code`` (which sets ``LEAK``) and defines ``function``
    returning ``right`` -- or ``wrong`` if the probe found what it looked for."""
    return (condition_code.rstrip() + "\n\n\n"
            f"def {function}(x):\n    if LEAK:\n        return {wrong}\n    return {right}\n")


def load(directory: Path = HOSTILE_DIR) -> dict[str, list[Case]]:
    return {p.stem: runpy.run_path(str(p))["CASES"] for p in sorted(directory.glob("*.py"))}


def build(case: Case, root: Path, assignment: str, source_path: Path, release_path: Path) -> Path:
    """Write the case's submission to ``<root>/submitted/<case.name>/<assignment>/``."""
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4)
    nb = reference_submission(release, source)
    for gid, code in case.answers.items():
        cells = [c for c in nb.cells if grade_id(c) == gid]
        assert len(cells) == 1, (case.name, gid)
        cells[0].source = code.replace("{ROOT}", str(root))
    result = case.edit(copy.deepcopy(nb), release) if case.edit else nb
    folder = root / "submitted" / case.name / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (case.filename or source_path.name)
    if result is None:
        (folder / "README.txt").write_text("I forgot to attach my notebook.\n")
    elif isinstance(result, bytes):
        path.write_bytes(result)
    else:
        nbformat.write(result, path)
    return folder
