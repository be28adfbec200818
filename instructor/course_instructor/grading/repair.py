"""Rebuild a submission on the instructor's notebook before grading.

nbgrader grades the student's file as it is, after restoring locked cells. A student's file can
hold duplicated graded cells (copy-paste), deleted or edited test cells, changed points or cell
types, cells that pretend to be graded, a different kernel, or the wrong name. Instead of
repairing each of these, :func:`transplant` starts from a copy of the **instructor's source
notebook** and copies in only the student's **answer cells**, matched by ``grade_id``:

- every test cell, its points, hidden tests, and every lesson cell are the instructor's;
- an answer cell appearing more than once: the last copy counts (what ran last in the student's
  notebook); an answer cell that was deleted: the release's stub (the exercise scores 0);
- an answer cell whose type was changed: its text goes back into a cell of the right type;
- cells the student added (scratch work, fake graded cells) are not run;
- kernelspec and language come from the instructor's notebook.

Each repair adds a note, shown in the grades CSV and at the top of the student's feedback.
"""
from __future__ import annotations

import copy
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_SUSPICIOUS = re.compile(
    r"get_ipython|sys\.modules|builtins|__builtins__|\bgc\b|settrace|setprofile|ctypes|__globals__|"
    r"__code__|__import__|importlib|\bsetattr\s*\(\s*(np|numpy|torch|checks)\b|"
    r"\b(np|numpy|torch|checks|math)\.\w+(\.\w+)*\s*=[^=]"
)


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


# nbgrader's own cell predicates; a submission's metadata is made safe for them in read_submission.
def is_answer(cell) -> bool:
    return bool(is_solution(cell))


def is_test(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(is_grade(cell)) and not is_solution(cell)


def is_graded(cell) -> bool:
    return bool(is_grade(cell))


def stub_of(cell) -> str:
    """The student's starting point for an instructor answer cell (what the release shows), made by
    nbgrader's own ClearSolutions with the course's stubs."""
    from nbgrader.preprocessors import ClearSolutions

    clear = ClearSolutions(code_stub={"python": STUB}, text_stub="YOUR ANSWER HERE")
    return clear.preprocess_cell(copy.deepcopy(cell), {"language": "python"}, 0)[0].source


@dataclass
class Repaired:
    nb: object  # nbformat.NotebookNode: the notebook to execute
    notes: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # answer cells using tools that can tamper with grading


class InvalidNotebook(Exception):
    """The submitted file is not a notebook we can read."""


MAX_NOTEBOOK_BYTES = 128 * 1024**2


def _read_regular(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes; a symbolic link
    (it could point at the instructor's solution) or a FIFO/device is refused, not followed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if Path(path).is_symlink():
            raise InvalidNotebook("a symbolic link, refused") from None
        raise InvalidNotebook(f"cannot be read ({err.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InvalidNotebook("not a regular file, refused")
        if st.st_size > limit:
            raise InvalidNotebook(f"larger than {limit // 1024**2} MiB")
        return fh.read(limit + 1)


def read_submission(path: Path):
    """Read a submitted notebook; raise :class:`InvalidNotebook` with a short reason.

    A UTF-8 byte-order mark (some editors on Windows write one) is accepted.
    """
    data = _read_regular(Path(path))
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidNotebook(f"not valid JSON ({type(err).__name__}: {str(err)[:80]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise InvalidNotebook("JSON, but not a Jupyter notebook (no list of cells)")
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds
        raise InvalidNotebook(f"not a readable notebook ({type(err).__name__}: {str(err)[:80]})") from None
    for cell in nb.cells:  # metadata of the wrong shape is dropped: nbgrader's predicates expect dicts
        if not isinstance(cell, dict):
            raise InvalidNotebook("not a readable notebook (a cell is not an object)")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
        if "nbgrader" in cell.metadata and not isinstance(cell.metadata["nbgrader"], dict):
            del cell.metadata["nbgrader"]
    return nb


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def transplant(source_nb, student_nb, release_nb=None) -> Repaired:
    """The instructor's notebook with the student's answer cells copied in (see module doc).

    Args:
        source_nb: the instructor version (solutions/...), with hidden tests.
        student_nb: the submitted notebook (any shape).
        release_nb: the student release, for the answer cells' nbgrader metadata (checksums,
            so nbgrader's feedback can say "No response.") and stubs; optional.
    """
    nb = copy.deepcopy(source_nb)
    notes: list[str] = []
    review: list[str] = []
    released = {meta(c).get("grade_id"): c for c in (release_nb.cells if release_nb else []) if meta(c).get("grade_id")}
    wanted = {meta(c).get("grade_id"): c for c in nb.cells if meta(c).get("grade_id")}
    answers: dict[str, list] = {}
    extra = fake = 0
    tests_seen: dict[str, int] = {}
    for cell in student_nb.cells:
        gid = meta(cell).get("grade_id")
        if gid in wanted and is_answer(wanted[gid]):
            answers.setdefault(gid, []).append(cell)
        elif gid in wanted:
            tests_seen[gid] = tests_seen.get(gid, 0) + 1
            original = released.get(gid, wanted[gid])
            if tests_seen[gid] == 1 and (_text(cell).strip() != _text(original).strip() or cell.get("cell_type") != "code"):
                notes.append(f"test cell {gid} was edited: the original was used")
            if tests_seen[gid] == 1 and meta(cell).get("points") != meta(wanted[gid]).get("points"):
                notes.append(f"points of {gid} were changed: the original points count")
        elif is_graded(cell) or is_answer(cell):
            fake += 1
        elif cell.get("cell_type") == "code" and _text(cell).strip():
            # a cell as released (the Colab setup cell, a demo) was not added by the student
            if not any(_text(cell).strip() == c.source.strip() for c in nb.cells + (release_nb.cells if release_nb else [])):
                extra += 1
    notes += [f"test cell {gid} appears {n} times: the original was used once" for gid, n in tests_seen.items() if n > 1]
    present = {meta(c).get("grade_id") for c in student_nb.cells}
    for gid, cell in wanted.items():
        if is_test(cell) and gid not in present:
            notes.append(f"test cell {gid} was deleted: the original was used")
    for cell in nb.cells:
        gid = meta(cell).get("grade_id")
        if gid and gid in released:
            cell.metadata["nbgrader"] = copy.deepcopy(released[gid].metadata["nbgrader"])
        if not (gid and is_answer(cell)):
            continue
        copies = answers.get(gid, [])
        if not copies:
            cell.source = _text(released[gid]) if gid in released else stub_of(cell)
            notes.append(f"answer cell {gid} is missing: graded as unanswered")
            continue
        if len(copies) > 1:
            notes.append(f"answer cell {gid} appears {len(copies)} times: the last one was graded")
        chosen = copies[-1]
        if chosen.get("cell_type") != cell.cell_type:
            notes.append(f"answer cell {gid} was changed to a {chosen.get('cell_type')} cell: graded as {cell.cell_type}")
        cell.source = _text(chosen)
        if meta(chosen).get("points") not in (None, meta(cell).get("points")):
            notes.append(f"points of {gid} were changed: the original points count")
        if cell.cell_type == "code" and _SUSPICIOUS.search(cell.source):
            review.append(gid)
    if fake:
        notes.append(f"{fake} cell(s) with grading metadata that is not in the assignment were ignored")
    if extra:
        notes.append(f"{extra} code cell(s) added outside the answer cells were not run")
    kernel = student_nb.metadata.get("kernelspec", {}).get("name")
    want_kernel = source_nb.metadata.get("kernelspec", {}).get("name")
    if kernel and kernel != want_kernel:
        notes.append(f"kernel {kernel!r} replaced by {want_kernel!r}")
    if review:
        notes.append(f"for review: answer cell(s) {', '.join(review)} touch the interpreter's internals")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return Repaired(nb=nb, notes=notes, review=review)


GRADER_NOTE = "course_grade_grader_note"  # cell metadata: shown in the formgrader, dropped from feedback


def add_grader_notes(nb, source_nb) -> None:
    """After each answer graded by hand, a markdown cell with the instructor's model answer and
    mark scheme (the answer cell of ``source_nb``), so that the grader sees them in the formgrader
    next to the student's answer (:func:`.nbgrader_io.write_autograded` adds them to every graded
    notebook; they are not run). nbgrader_config.py drops these cells from the students' feedback
    (:class:`course_instructor.grading.export.DropGraderNotes`)."""
    model = {meta(c).get("grade_id"): c for c in source_nb.cells if is_answer(c) and is_graded(c)}
    out = []
    for cell in nb.cells:
        out.append(cell)
        gid = meta(cell).get("grade_id")
        if gid in model and is_answer(cell):
            quoted = "\n".join("> " + line if line.strip() else ">" for line in _text(model[gid]).splitlines())
            out.append(nbformat.v4.new_markdown_cell(
                f"**For the grader ({gid}, {meta(model[gid]).get('points', 0):g} points): the model answer and mark "
                f"scheme.** Not shown to the student.\n\n{quoted}", metadata={GRADER_NOTE: True}))
    nb.cells = out


def match_notebooks(expected: list[str], found: list[Path]) -> tuple[dict[str, Path], list[str]]:
    """Map each expected notebook name to a submitted file; a single renamed file is accepted.

    Returns (mapping, notes).
    """
    by_name = {p.name: p for p in found}
    mapping = {n: by_name[n] for n in expected if n in by_name}
    notes = []
    left = [n for n in expected if n not in mapping]
    unused = [p for p in found if p not in mapping.values()]
    if len(left) == 1 and len(unused) == 1:
        mapping[left[0]] = unused[0]
        notes.append(f"notebook {unused[0].name!r} graded as {left[0]!r}")
    return mapping, notes
