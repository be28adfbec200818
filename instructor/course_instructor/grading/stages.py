"""The grading of one submission as a chain of stages, in the manner of nbgrader's preprocessors.

Each stage is a small class configured once for the class (the :class:`~.cli.Grader`'s keyword
options) with one method, ``process(state) -> state``, that takes the submission's
:class:`State` and returns it; a stage that settles the result early sets ``state.done`` and
the later stages are skipped. :meth:`.cli.Grader.grade` runs :data:`STAGES` in order:

1. :class:`FromCache`   an unchanged submission keeps its last result;
2. :class:`Unreadable`  nothing to grade (no notebook, nothing readable): every question "not submitted";
3. :class:`Execute`     per notebook: match by name, read, transplant the answers (:mod:`.repair`),
                        run it in the sandbox (:mod:`.execute`), record the verdicts;
4. :class:`Score`       the submission's status, score and time;
5. :class:`Redact`      hidden tests out of notebooks, messages and notes (:mod:`.redact`);
6. :class:`Write`       the notes cell, ``autograded/`` and the cache entry.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import nbformat

from . import collect, execute, nbgrader_io, repair

if TYPE_CHECKING:  # pragma: no cover
    from .cli import Grader, SubmissionResult

CACHE = ".course-grade.json"
ORDER = ["crashed", "timed out", "invalid", "missing", "graded"]  # the worst status of the notebooks wins


@dataclass
class State:
    """One submission on its way through the stages."""

    sub: collect.Submission
    result: SubmissionResult
    key: str | None = None  # fingerprint of the submitted files (None: nothing submitted)
    graded: dict[str, object] = field(default_factory=dict)  # notebook name -> executed notebook
    statuses: list[str] = field(default_factory=list)  # one per notebook
    start: float = field(default_factory=time.monotonic)
    done: bool = False


class Stage:
    """A step of :meth:`.cli.Grader.grade`; ``grader`` holds the class-wide options."""

    def __init__(self, grader: Grader):
        self.grader = grader

    def process(self, state: State) -> State:  # pragma: no cover - abstract
        raise NotImplementedError


def questions(source_nb, cells, default: str) -> dict:
    """The per-question rows of one notebook: its test cells' verdicts, ``default`` where none."""
    by_id = {c.grade_id: c for c in (cells or []) if c.kind == "test"}
    qs = []
    for gid, pts in nbgrader_io.grade_ids(source_nb):
        c = by_id.get(gid)
        qs.append({"grade_id": gid, "points": c.points if c else 0.0, "max_points": pts,
                   "status": c.status if c else default, "message": c.message if c else ""})
    return {"questions": qs}


class FromCache(Stage):
    def process(self, state: State) -> State:
        g = self.grader
        cache = g.root / "autograded" / state.sub.student / g.assignment / CACHE
        if state.key and not g.force and cache.is_file():
            try:
                old = json.loads(cache.read_text())
                if old.get("key") == state.key:
                    state.result = old["result"]
                    state.result["cached"] = True
                    state.done = True
            except (OSError, ValueError):
                pass
        return state


class Unreadable(Stage):
    def process(self, state: State) -> State:
        sub, result = state.sub, state.result
        result["notes"] += sub.notes
        if sub.folder is None or not sub.files:
            result["status"] = "invalid" if sub.notes else "missing"
            result["notes"].append("no notebook graded" if sub.notes else "no notebook submitted")
            for name, nb in self.grader.source_nbs.items():
                result["notebooks"][name] = questions(nb, None, "not submitted")
            state.done = True
        return state


class Execute(Stage):
    def process(self, state: State) -> State:
        g, sub, result = self.grader, state.sub, state.result
        mapping, notes = repair.match_notebooks(list(g.sources), sub.files)
        result["notes"] += notes
        slot = g.slots.get()
        try:
            for name, source_nb in g.source_nbs.items():
                path = mapping.get(name)
                try:
                    if path is None:
                        raise repair.InvalidNotebook(f"{name} not found among {[p.name for p in sub.files]}")
                    student_nb = repair.read_submission(path)
                except repair.InvalidNotebook as err:
                    state.statuses.append("missing" if path is None else "invalid")
                    result["notes"].append(f"{name}: {err}")
                    fixed = repair.transplant(source_nb, nbformat.v4.new_notebook(), g.release_nbs.get(name))
                    nbgrader_io.set_verdicts(fixed.nb, [])
                    state.graded[name] = fixed.nb
                    result["notebooks"][name] = questions(source_nb, None, "not graded")
                    continue
                fixed = repair.transplant(source_nb, student_nb, g.release_nbs.get(name))
                result["notes"] += fixed.notes
                try:
                    run = execute.grade_notebook(fixed.nb, slot=slot, limits=g.limits, cell_timeout=g.cell_timeout,
                                                 notebook_timeout=g.notebook_timeout, sandboxed=g.sandboxed,
                                                 extra_files=g.extra_files)
                except Exception as err:  # noqa: BLE001 - never lose the batch
                    run = execute.RunResult("crashed", [], [f"grader error: {type(err).__name__}: {err}"])
                state.statuses.append(run.status)
                result["cpu_s"] = round(result.get("cpu_s", 0.0) + run.cpu_s, 2)
                result["notes"] += run.notes
                nbgrader_io.set_verdicts(fixed.nb, run.cells)
                state.graded[name] = fixed.nb
                result["notebooks"][name] = questions(source_nb, run.cells, "not run")
        finally:
            g.slots.put(slot)
        return state


class Score(Stage):
    def process(self, state: State) -> State:
        result = state.result
        result["status"] = next((s for s in ORDER if s in state.statuses), "graded")
        result["score"] = sum(q["points"] for nb in result["notebooks"].values() for q in nb["questions"])
        result["seconds"] = round(time.monotonic() - state.start, 2)
        return state


class Redact(Stage):
    """Before anything is written: no hidden test in any output, message or note."""

    def process(self, state: State) -> State:
        g, result = self.grader, state.result
        if g.show_hidden:
            return state
        for name, nb in state.graded.items():
            nbgrader_io.hide_hidden_tests(nb)
            g.redactors[name].notebook(nb)
            for q in result["notebooks"][name]["questions"]:
                q["message"] = g.redactors[name].text(q["message"])
        for r in g.redactors.values():
            result["notes"] = [r.text(n) for n in result["notes"]]
        return state


class Write(Stage):
    def process(self, state: State) -> State:
        g, result = self.grader, state.result
        for name, nb in state.graded.items():
            if result["notes"] or result["status"] != "graded":
                nb.cells.insert(0, nbgrader_io.notes_cell(result["status"], result["notes"]))
            nbgrader_io.write_autograded(g.root, g.assignment, state.sub.student, name, nb)
        if state.key:
            out_dir = g.root / "autograded" / state.sub.student / g.assignment
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / CACHE).write_text(json.dumps({"key": state.key, "result": result}, indent=1))
        return state


STAGES = (FromCache, Unreadable, Execute, Score, Redact, Write)
