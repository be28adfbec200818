"""One source per lesson: ``lessons/<a>/<nb>.py`` paired with ``solutions/<a>/<nb>.ipynb``.

Each lesson is written once, as a jupytext "percent" script (``# %%`` cells, nbgrader metadata
in the cell headers). ``jupytext.toml`` at the repository root pairs it with the instructor
notebook, so editing either side -- the script in an editor, or the notebook in JupyterLab
(``make author``) -- and syncing gives the same notebook; jupytext keeps the notebook's cell ids,
outputs and nbgrader metadata. The student release (``notebooks/``) is never paired.

``make lessons`` (``python -m course_instructor.lessons``) rebuilds everything from the sources:

1. **sync** every lesson with its notebook (``jupytext --sync``: the newer side wins);
2. **execute** only the lessons whose inputs changed: :func:`inputs_hash` covers the code cells
   and the shipped data (``course_utils/assets/``); the hash of the last run is kept in the
   notebook's metadata (:data:`BUILD_KEY`), so a markdown-only edit never re-runs anything.
   Python changes in ``course_utils/`` do not count: refactors and lint fixes must not rewrite
   eight notebooks, nbval and the unit tests check them; when a change alters what a lesson
   shows, re-run it with ``make lessons FORCE=1 LESSONS=<a>``;
3. **normalize** the instructor notebook (:func:`normalize`): no timings or widget state, a
   fixed ``language_info``, execution counts only where outputs are kept (numbered as a
   top-to-bottom run does), and only the outputs that are not committed elsewhere (see below);
4. **release** with nbgrader (:func:`course_instructor.release.generate`) and refresh the README table.

Outputs are committed once. The student notebooks keep the lesson's figures and tables (they
are read on GitHub and Colab before they are run); the instructor notebooks keep only what the
release does not carry -- the outputs of nbgrader cells -- and the outputs nbval compares
(``NBVAL_CHECK_OUTPUT`` cells). When a lesson is released without being re-executed, its figures
are taken back from the committed student notebook, cell by cell id (:func:`release_source`).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_instructor.release import RELEASE_DIR, REPO_ROOT, SOURCE_DIR, generate, static_outputs

LESSONS_DIR = "lessons"
#: Notebook metadata key with the hash of the inputs the saved outputs were made from.
BUILD_KEY = "lesson_build"
#: The shipped data lessons load: changing it re-executes every lesson.
ASSETS_DIR = "course_utils/assets"
#: ``language_info`` of every saved notebook (a kernel would write its own Python version: churn).
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}
#: Notebook and cell metadata an instructor notebook keeps (jupytext.toml carries the same to the text).
NOTEBOOK_METADATA = ("course", "kernelspec", "language_info", BUILD_KEY)
CELL_METADATA = ("nbgrader", "tags")
NBVAL_MARK = "NBVAL_CHECK_OUTPUT"


def lesson_path(notebook: Path, root: Path = REPO_ROOT) -> Path:
    """The text source paired with ``solutions/<a>/<nb>.ipynb``: ``lessons/<a>/<nb>.py``."""
    rel = Path(notebook).resolve().relative_to(Path(root).resolve() / SOURCE_DIR)
    return Path(root) / LESSONS_DIR / rel.with_suffix(".py")


def notebook_path(lesson: Path, root: Path = REPO_ROOT) -> Path:
    """The instructor notebook paired with ``lessons/<a>/<nb>.py``."""
    rel = Path(lesson).resolve().relative_to(Path(root).resolve() / LESSONS_DIR)
    return Path(root) / SOURCE_DIR / rel.with_suffix(".ipynb")


def lesson_notebooks(names: list[str] | None = None, root: Path = REPO_ROOT) -> list[Path]:
    """Instructor notebooks of the given assignments (default: all), including lessons that so
    far exist only as text (their notebook is created by :func:`sync`)."""
    root = Path(root)
    found = {p for p in (root / SOURCE_DIR).glob("*/*.ipynb")}
    found |= {notebook_path(p, root) for p in (root / LESSONS_DIR).glob("*/*.py")}
    return sorted(p for p in found if names is None or p.parent.name in names)


def _jupytext(*args: str) -> None:
    from jupytext.cli import jupytext as jupytext_cli

    jupytext_cli(["--quiet", *args])


def sync(notebook: Path, root: Path = REPO_ROOT) -> None:
    """``jupytext --sync`` one lesson (the newer of text and notebook gives the inputs; outputs,
    cell ids and filtered metadata come from the notebook)."""
    text = lesson_path(notebook, root)
    _jupytext("--sync", str(text if text.exists() else notebook))


def text_of(nb, root: Path = REPO_ROOT) -> str:
    """The lesson text jupytext writes for ``nb`` with the repository's ``jupytext.toml``."""
    import jupytext
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(str(Path(root) / SOURCE_DIR))
    return jupytext.writes(nb, fmt="py:percent", config=config)


_NAMES = r"(\([\w\s,]+\)|[\w \t,]+)"   # `a, b as c` on one line, or `(a,\n b)` over several
_COURSE_IMPORT = re.compile(rf"\bcourse_utils\.(\w+)|\bfrom[ \t]+course_utils[ \t]+import[ \t]+{_NAMES}"
                            rf"|\bfrom[ \t]+\.(\w*)[ \t]+import[ \t]+{_NAMES}")


def _course_modules(text: str, package: Path) -> set[str]:
    """Names of the ``course_utils`` modules that ``text`` imports or names (``course_utils.x``,
    ``from course_utils import x``, and inside the package ``from .x import`` / ``from . import x``)."""
    found: set[str] = set()
    for dotted, names, relative, rel_names in _COURSE_IMPORT.findall(text):
        listed = names + "," + ("" if relative else rel_names)
        candidates = [dotted, relative] + listed.strip("()").replace("(", ",").replace(")", ",").split(",")
        found |= {c.split(" as ")[0].strip() for c in candidates if c.strip()}
    return {m for m in found if (package / f"{m}.py").is_file()}


def lesson_inputs(nb=None, root: Path = REPO_ROOT) -> list[Path]:
    """The files besides its code a lesson's outputs depend on (sorted): the shipped data files
    (``course_utils/assets/``) whose name appears in the lesson's code or in a ``course_utils`` module it
    uses, directly or through other modules. Without ``nb``: every asset. A new asset for one lesson
    therefore does not make the other lessons stale."""
    assets = sorted(p for p in (Path(root) / ASSETS_DIR).rglob("*") if p.is_file())
    if nb is None:
        return assets
    package = Path(root) / "course_utils"
    texts = ["\n".join(c.source for c in nb.cells if c.cell_type == "code")]
    todo, seen = _course_modules(texts[0], package), set()
    while todo:
        module = todo.pop()
        seen.add(module)
        source = (package / f"{module}.py").read_text()
        texts.append(source)
        todo |= _course_modules(source, package) - seen
    text = "\n".join(texts)
    return [p for p in assets if p.name in text]


def inputs_hash(nb, root: Path = REPO_ROOT) -> str:
    """sha256 of what a lesson's outputs are made from: its code cells, in order, and
    :func:`lesson_inputs`. Markdown and metadata do not count."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(b"cell\0" + cell.source.encode() + b"\0")
    for path in lesson_inputs(nb, root):
        digest.update(b"file\0" + path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def is_stale(nb, root: Path = REPO_ROOT) -> bool:
    """True if ``nb``'s saved outputs were made from other inputs than it has now."""
    return nb.metadata.get(BUILD_KEY, {}).get("inputs_sha256") != inputs_hash(nb, root)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def keeps_outputs(cell) -> bool:
    """Whether the instructor notebook commits this cell's outputs: nbgrader cells (the release
    clears them) and cells nbval compares. The other outputs live in the student notebook."""
    m = _nbgrader(cell)
    return bool(m.get("grade") or m.get("solution") or m.get("task")) or NBVAL_MARK in cell.source


def normalize(nb, all_outputs: bool = False):
    """The committed form of an instructor notebook (``all_outputs``: keep every output, for the
    release); modifies and returns ``nb``."""
    static_outputs(nb)
    nb.metadata = {k: nb.metadata[k] for k in NOTEBOOK_METADATA if k in nb.metadata}
    nb.metadata["language_info"] = copy.deepcopy(LANGUAGE_INFO)
    count = 0
    for cell in nb.cells:
        cell.metadata = {k: cell.metadata[k] for k in CELL_METADATA if k in cell.metadata}
        if cell.cell_type != "code":
            continue
        count += bool(cell.source.strip())
        cell.outputs = cell.outputs if all_outputs or keeps_outputs(cell) else []
        # nbval refuses saved outputs without an execution count; a top-to-bottom run numbers the
        # cells in order, so the count is the cell's position whoever ran it, and nothing else
        cell.execution_count = count if cell.outputs else None
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = cell.execution_count
    return nb


def release_source(nb, student_nb=None):
    """The notebook nbgrader releases: ``nb`` with each demo cell's outputs taken back from the
    committed student notebook (same cell id and source). Returns a copy."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop(BUILD_KEY, None)
    released = {c.get("id"): c for c in (student_nb.cells if student_nb else []) if c.cell_type == "code"}
    for cell in nb.cells:
        old = released.get(cell.get("id"))
        if cell.cell_type == "code" and not cell.outputs and old is not None and old.source == cell.source:
            cell.outputs = copy.deepcopy(old.outputs)
    return nb


#: The environment lessons are executed in: the full lesson, and one torch thread, so the saved
#: numbers and figures do not depend on the machine's core count (nbval in CI runs the same way).
EXECUTION_ENV = {"COURSE_FAST": "0", "COURSE_NUM_THREADS": "1"}


def execute(nb, path: Path, timeout: int = 900):
    """Run ``nb`` top to bottom in :data:`EXECUTION_ENV` in ``path``'s folder; returns it.

    Uses the course's kernel client (no stall after widget cells) and records no timings.
    """
    from nbclient import NotebookClient

    from course_instructor.kernel_client import SlicedPollKernelManager

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", kernel_manager_class=SlicedPollKernelManager,
                            record_timing=False, resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute(env={**os.environ, **EXECUTION_ENV})  # the kernel's environment only
    return nb


def _read(path: Path):
    return nbformat.read(path, as_version=4) if path.exists() else None


def build(names: list[str] | None = None, root: Path = REPO_ROOT, force: bool = False, release: bool = True) -> list[Path]:
    """Sync, execute what changed, normalize and release; returns the re-executed notebooks."""
    root = Path(root)
    notebooks = lesson_notebooks(names, root)
    executed, sources = [], {}
    for path in notebooks:
        sync(path, root)
        nb = nbformat.read(path, as_version=4)
        release_nb = nb
        if force or is_stale(nb, root):
            start = time.perf_counter()
            release_nb = execute(copy.deepcopy(nb), path)
            release_nb.metadata = copy.deepcopy(nb.metadata)  # the kernel's language_info is churn
            release_nb.metadata[BUILD_KEY] = {"inputs_sha256": inputs_hash(nb, root)}
            nb = copy.deepcopy(release_nb)
            executed.append(path)
            print(f"executed {path.relative_to(root)} in {time.perf_counter() - start:.0f} s")
        before = nbformat.writes(nb)
        normalize(nb)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            sync(path, root)  # the notebook is now the newer side: rewrite the text from it
        student = root / RELEASE_DIR / path.parent.name / path.name
        release_nb = normalize(release_nb, all_outputs=True) if release_nb is not nb else nb
        sources[path] = release_source(release_nb, _read(student))
    if release and sources:
        release_all(sources, root)
        from course_instructor.platforms import sync_all
        from course_instructor.release import assignments

        for changed in sync_all(root, assignments(root)):
            print(f"updated {changed.relative_to(root)}")
    return executed


def release_all(sources: dict, root: Path = REPO_ROOT, release_dir=RELEASE_DIR, db_url: str | None = None) -> None:
    """nbgrader-release ``{instructor notebook path: notebook to release}`` (other files of each
    ``solutions/<a>/`` go along, as nbgrader would copy them)."""
    import shutil

    with tempfile.TemporaryDirectory(prefix="lessons-") as tmp:
        for path, nb in sources.items():
            target = Path(tmp) / path.parent.name / path.name
            if not target.parent.exists():
                shutil.copytree(path.parent, target.parent)
            nbformat.write(nb, target)
        generate(sorted({p.parent.name for p in sources}), root=root, release_dir=release_dir, db_url=db_url,
                 source_dir=tmp)


def release_sources(names: list[str], root: Path = REPO_ROOT) -> dict:
    """What :func:`build` releases for lessons that need no execution: committed notebooks with
    their demo outputs taken back from ``notebooks/`` (used by the release guard test)."""
    root = Path(root)
    return {p: release_source(nbformat.read(p, as_version=4), _read(root / RELEASE_DIR / p.parent.name / p.name))
            for p in lesson_notebooks(names, root)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_instructor.lessons", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all lessons)")
    parser.add_argument("--force", action="store_true", help="re-execute every given lesson, changed or not")
    parser.add_argument("--no-release", action="store_true", help="sync and execute only")
    args = parser.parse_args(argv)
    names = args.assignments or None
    if names:
        known = {p.parent.name for p in lesson_notebooks(None)}
        unknown = sorted(set(names) - known)
        if unknown:
            raise SystemExit(f"error: unknown assignment(s) {unknown}; lessons/ has {sorted(known)}")
    start = time.perf_counter()
    executed = build(names, force=args.force, release=not args.no_release)
    print(f"lessons: {len(executed)} re-executed, done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
