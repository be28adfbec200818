"""Helpers for the nbgrader round-trip tests: read nbgrader cells, build submissions, grade."""
from __future__ import annotations

import ast
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_instructor.grading import sandbox
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


_RELEASED: dict[str, Path] = {}  # assignment -> a pristine released course (one per test process)


def make_course(tmp: Path, assignment: str) -> Path:
    """A throwaway nbgrader course holding one assignment's source, released (as `make release`
    does) into its own notebooks/ and gradebook. The release runs once per process and
    assignment; later calls copy it."""
    root = tmp / "course"
    if assignment not in _RELEASED:
        pristine = Path(tempfile.mkdtemp(prefix=f"released-{assignment}-")) / "course"
        shutil.copytree(REPO / "solutions" / assignment, pristine / "solutions" / assignment)
        generate([assignment], root=pristine)
        _RELEASED[assignment] = pristine
    shutil.copytree(_RELEASED[assignment], root)
    return root


def write_submission(root: Path, student: str, assignment: str, name: str, nb) -> None:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


@dataclass
class Item:
    """One thing the round trip checks: an answer cell left as the stub, or a designed mistake."""

    label: str  # "stub-<answer id>" or "mistake<i>-<answer id>"
    answer_id: str
    code: str
    failing: frozenset[str]  # test grade_ids that must lose their points
    alone: bool = False  # grade in a submission of its own


@dataclass
class Plan:
    """The class a round trip submits: student -> the items packed into that submission."""

    members: dict[str, list[Item]]
    reach: dict[str, frozenset[str]]  # answer id -> the test cells its code can change


_MAGIC = re.compile(r"^[ \t]*[%!].*$", re.M)


def _parse(code: str):
    try:
        return ast.parse(_MAGIC.sub("", code))
    except SyntaxError:
        return None


def _bound(tree) -> set[str]:
    """Names a statement (or module) binds at module level (not inside its functions or classes)."""
    names: set[str] = set()
    todo = list(tree.body) if isinstance(tree, ast.Module) else [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            todo.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.Global):
            names.update(node.names)
        if not isinstance(node, ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return names


def _used(tree) -> set[str]:
    """Every name a statement reads, inside its functions too (their free names are globals)."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


# Statements that always rebind what they bind (so a name they bind no longer carries an answer).
_REBIND = (ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _touched(stmt, tainted: set[str]) -> set[str]:
    """Names whose objects a statement that reads a tainted name may change: what it binds, and
    the arguments and receivers of calls that involve tainted code (``initialize_(model)``)."""
    names = _bound(stmt)
    for call in (n for n in ast.walk(stmt) if isinstance(n, ast.Call)):
        args = [*call.args, *(k.value for k in call.keywords)]
        if _used(call.func) & tainted or any(_used(a) & tainted for a in args):
            names |= {a.id for a in args if isinstance(a, ast.Name)}
            base = call.func
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
    return names


def _flow(stmts: list, tainted: set[str], top: bool) -> bool:
    """Propagate ``tainted`` through ``stmts`` in order; whether any statement read a tainted name."""
    hit = False
    for stmt in stmts:
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            if _used(stmt.iter) & tainted:
                tainted |= _bound(ast.Module(body=[ast.Assign(targets=[stmt.target], value=stmt.iter)]))
                tainted |= _touched(ast.Expr(stmt.iter), tainted)
                hit = True
            hit |= _flow(stmt.body + stmt.orelse, tainted, False)
        elif isinstance(stmt, (ast.If, ast.While)):
            hit |= bool(_used(stmt.test) & tainted)
            hit |= _flow(stmt.body + stmt.orelse, tainted, False)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if _used(item.context_expr) & tainted:
                    hit = True
                    if item.optional_vars is not None:
                        tainted |= {n.id for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)}
            hit |= _flow(stmt.body, tainted, False)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            body = stmt.body + [s for h in stmt.handlers for s in h.body] + stmt.orelse + stmt.finalbody
            hit |= _flow(body, tainted, False)
        elif _used(stmt) & tainted:
            tainted |= _touched(stmt, tainted)
            hit = True
        elif top and isinstance(stmt, _REBIND):
            tainted -= _bound(stmt)
    return hit


def reach(source_nb, answer_id: str, extra_code: list[str] = ()) -> frozenset[str]:
    """The test cells whose outcome the answer cell ``answer_id`` can change (static, conservative).

    Follows names statement by statement: what the answer cell (its reference or any of
    ``extra_code``) binds; a later statement that reads one of those names reaches its cell, and
    the names it binds, and the objects it hands to the answer's code, carry the answer in turn
    (except in test cells: they run in a namespace of their own, course_instructor.grading.namespace);
    a name rebound at a cell's top level without reading any is clean again. A cell that does
    not parse reads and binds everything. The answer's own tests are always included.
    """
    cells = [c for c in source_nb.cells if c.cell_type == "code"]
    start = next(i for i, c in enumerate(cells) if grade_id(c) == answer_id)
    tainted: set[str] = set()
    for code in [solution_code(cells[start]), *extra_code]:
        tree = _parse(code)
        tainted |= _bound(tree) if tree is not None else {"*"}
    found = {t for t, _ in dict(exercises(source_nb)).get(answer_id, [])}
    for cell in cells[start + 1:]:
        tree = _parse(cell.source)
        if tree is None or "*" in tainted:
            tainted.add("*")
            hit = True
        elif is_test(cell):  # test cells run in a namespace of their own: what they bind stays there
            hit = _flow(tree.body, set(tainted), True)
        else:
            hit = _flow(tree.body, tainted, True)
        if hit and is_test(cell):
            found.add(grade_id(cell))
    return frozenset(found)


def plan_class(source_nb, cases: list[tuple], stubs: bool = True, pack: bool = True) -> Plan:
    """Pack the stubs and designed mistakes of one notebook into as few submissions as stay exact.

    One submission may hold several items if each changes a different answer cell and no item
    can change a test that another item of the submission must fail (:func:`reach`): then each
    test's expected outcome is that of the one item that can touch it, and a submission loses
    exactly the union of its items' tests. An item whose failing tests are not all within the
    reach of its answer cell (a dependency the static reading missed), or a case declared
    ``{"alone": True}`` (optional 4th element, tests/roundtrip_cases.py), gets a submission of its
    own; so does every item when ``pack`` is False (``ROUNDTRIP_PACK=0``).
    """
    ids = {grade_id(c) for c in source_nb.cells}
    items: list[Item] = []
    if stubs:
        items += [Item(f"stub-{a}", a, STUB, frozenset(t for t, _ in tests)) for a, tests in exercises(source_nb).items()]
    for i, (answer_id, code, failing, *opts) in enumerate(cases):
        if answer_id in ids:
            items.append(Item(f"mistake{i}-{answer_id}", answer_id, code, frozenset(failing),
                              bool(opts and opts[0].get("alone"))))
    codes: dict[str, list[str]] = {}
    for item in items:
        codes.setdefault(item.answer_id, []).append(item.code)
    reaches = {a: reach(source_nb, a, c) for a, c in codes.items()}
    packs: list[list[Item]] = []
    for item in items:
        alone = not pack or item.alone or not item.failing <= reaches[item.answer_id]

        def fits(group: list[Item], item=item) -> bool:
            return all(m.answer_id != item.answer_id and not m.alone
                       and not reaches[item.answer_id] & m.failing and not reaches[m.answer_id] & item.failing
                       for m in group)

        group = None if alone else next((g for g in packs if fits(g)), None)
        if group is None:
            packs.append(group := [])
        group.append(Item(item.label, item.answer_id, item.code, item.failing, alone))
    members = {(g[0].label if len(g) == 1 else f"pack{i}"): g for i, g in enumerate(packs)}
    return Plan(members, reaches)


def write_class(root: Path, assignment: str, cases: list[tuple], stubs: bool = True,
                pack: bool | None = None) -> tuple[dict[tuple[str, str], dict[str, float]], dict[str, list[Item]]]:
    """Submit a whole class of ``assignment`` into ``<root>/submitted`` and say what each must score.

    Students: ``reference`` (the instructor's answers: full marks), ``blank`` (the release: 0), and
    the stubs (each answer left as the stub: its tests score 0, unless not ``stubs``) and designed
    mistakes (``cases[i]``: the listed tests score 0), packed by :func:`plan_class` into
    submissions named after their single item or ``pack<i>``.
    Returns ({(student, notebook name): {test grade_id: expected points}}, {student: items}).
    """
    if pack is None:
        pack = os.environ.get("ROUNDTRIP_PACK", "1") != "0"
    expected: dict[tuple[str, str], dict[str, float]] = {}
    members: dict[str, list[Item]] = {}
    names = sorted(p.name for p in (root / "notebooks" / assignment).glob("*.ipynb"))
    assert names, f"nothing released for {assignment}"
    for name in names:
        source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
        release = nbformat.read(root / "notebooks" / assignment / name, as_version=4)
        points = points_of(source)
        reference = reference_submission(release, source)
        students = {"reference": (reference, set()), "blank": (release, set(points))}
        for student, group in plan_class(source, cases, stubs, pack).members.items():
            nb = reference
            for item in group:
                nb = with_answer(nb, item.answer_id, item.code)
            students[student] = (nb, set().union(*(i.failing for i in group)))
            members[student] = group
        for student, (nb, failing) in students.items():
            write_submission(root, student, assignment, name, nb)
            expected[(student, name)] = {k: (0.0 if k in failing else v) for k, v in points.items()}
    return expected, members


def scores(root: Path, assignment: str, notebook: str, student: str) -> dict[str, float | None]:
    """Per-cell scores from the gradebook: grade_id -> score (None if it awaits manual grading)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(notebook, assignment, student)
        return {g.name: (None if g.needs_manual_grade else float(g.score)) for g in nb.grades}


# -- one graded class per assignment and test process ----------------------------------------
# Every test that grades an assignment reads it. :func:`graded_class` releases the assignment into a temporary course, submits the round trip's
# class (:func:`write_class`: the reference, the blank release, every stub and
# designed mistake, packed) and, where the sandbox runs, the assignment's hostile corpus
# (tests/hostile/<assignment>.py; its ``reference`` and ``blank`` are the round trip's own), and
# the instructor notebooks that test_forgery.py submits as they are (INSTRUCTOR_AS_STUDENT); then
# grades all of it in ONE ``course-grade`` run. The round-trip tests (test_nbgrader_roundtrip.py)
# the corpus tests (test_grading.py) and test_forgery.py's check of 01 read that run: no submission is graded twice, and the
# course is released, its feedback generated and its report drawn once. The scheduler in the root
# conftest.py keeps every test that reads a class on the worker (the process) that grades it.
#
# A test that changes the course (a re-run) works on a copy (:func:`copy_course`).

SANDBOX_OK, SANDBOX_WHY = sandbox.available()
# Generous limits: a loaded CI machine must not turn a slow cell into lost points.
ROUNDTRIP_OPTIONS = dict(workers=2, cell_timeout=600, notebook_timeout=1800, progress=False,
                         limits=sandbox.Limits(cpu_s=1800))
# With a hostile corpus: the limits its cases are written against (its infinite loops stop after
# cell_timeout, its memory hog at memory_mb, its fork storm below nproc); the set-up cells (imports)
# still get course-grade's setup_timeout. A corpus for a heavier notebook needs a longer cell_timeout.
HOSTILE_LIMITS = sandbox.Limits(memory_mb=3072, cpu_s=300, nproc=192)
HOSTILE_OPTIONS = dict(workers=2, cell_timeout=25, notebook_timeout=300, limits=HOSTILE_LIMITS, progress=False)


# Submitted as they are (student, notebook): test_forgery.py checks they score full marks unflagged
# (01's sigmoid test used to void itself under the guard: issue 14).
INSTRUCTOR_AS_STUDENT = {"01_activations": [("instructor", "01_activations.ipynb")]}


@dataclass
class GradedClass:
    assignment: str
    root: Path
    expected: dict  # (round-trip student, notebook name) -> {test grade_id: expected points}
    members: dict  # round-trip student -> the stubs and mistakes packed into that submission
    results: dict  # every student -> course-grade's result
    seconds: float
    hostile: list  # the corpus cases graded in this run (empty without the sandbox)


_GRADED: dict[str, GradedClass] = {}


def graded_class(assignment: str, tmp_path_factory) -> GradedClass:
    """The class of ``assignment`` graded once by ``course-grade`` (this process's first call grades it)."""
    if assignment in _GRADED:
        return _GRADED[assignment]
    from course_instructor.grading import cli
    from hostile_corpus import build, load  # it imports this module
    from roundtrip_cases import CASES

    root = make_course(tmp_path_factory.mktemp(assignment), assignment)
    expected, members = write_class(root, assignment, CASES.get(assignment, []))
    hostile = load().get(assignment, []) if SANDBOX_OK else []
    if hostile:
        source = sorted((root / "solutions" / assignment).glob("*.ipynb"))[0]
        taken = {student for student, _ in expected}
        for case in hostile:
            if case.name not in taken:  # the corpus's reference and blank are the round trip's
                build(case, root, assignment, source, root / "notebooks" / assignment / source.name)
    for student, name in INSTRUCTOR_AS_STUDENT.get(assignment, []):  # the instructor's notebook, unchanged
        write_submission(root, student, assignment, name, nbformat.read(root / "solutions" / assignment / name, as_version=4))
    options = dict(HOSTILE_OPTIONS if hostile else ROUNDTRIP_OPTIONS, allow_unsandboxed=not SANDBOX_OK)
    start = time.perf_counter()
    results = {r["student"]: r for r in cli.grade_assignment(assignment, root=root, **options)}
    seconds = time.perf_counter() - start
    cpu = sum(r.get("cpu_s", 0.0) for r in results.values())
    each = sorted(r.get("seconds", 0.0) for r in results.values())
    print(f"\ncourse-grade: {len(results)} submissions of {assignment} ({sum(map(len, members.values()))} stubs and "
          f"mistakes packed into {len(members)}, {len(hostile)} hostile cases) in {seconds:.1f} s; kernels' CPU "
          f"{cpu:.1f} s ({cpu / len(results):.1f} s per submission); median {each[len(each) // 2]:.1f} s per "
          "submission in its kernel")
    slow = sorted(results.values(), key=lambda r: -r.get("seconds", 0.0))[:8]
    print("slowest: " + ", ".join(f"{r['student']} {r.get('seconds', 0.0):.1f} s ({r.get('cpu_s', 0.0):.1f} CPU-s, "
                                  f"{r.get('status', '?')})" for r in slow))
    _GRADED[assignment] = GradedClass(assignment, root, expected, members, results, seconds, hostile)
    return _GRADED[assignment]


def copy_course(root: Path, dest: Path) -> Path:
    """A copy of a graded course (submissions, gradebook, cache, feedback) to change freely."""
    shutil.copytree(root, dest, symlinks=True)
    return dest
