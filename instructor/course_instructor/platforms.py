"""Where students run the notebooks: links, badges and the Colab install cell, from one setting.

The repository's public address is one setting, :data:`REPOSITORY` (GitHub ``owner/name``), and
the ref students get is :data:`REF` (a release tag, so the notebooks and the package installed on
Colab always match). Every badge, link and install cell is generated from them by
``make release``: changing the address is a one-line edit here plus ``make release``.

What the release adds (``make lessons``; see :func:`sync_notebook` and :func:`sync_readme`): these
cells are the same in every notebook, so they live here, once, and never in the lesson sources
(``lessons/``) or the instructor notebooks (``solutions/``). nbgrader inserts them into each
student notebook through :class:`course_instructor.release.PlatformCells` (``nbgrader_config.py``):

* at the top of every notebook, a markdown cell with "Open in Colab" and "launch Binder" badges;
* after the lesson's first cell (its title), the "How to run this notebook" table;
* before the first code cell, a setup cell that only on Colab installs the course package from
  this repository at :data:`REF`, never changing Colab's preinstalled torch, numpy, matplotlib
  or ipywidgets (they are pinned to the installed versions for that one pip call); anywhere else
  it does nothing;
* Colab's GPU metadata only in notebooks whose ``metadata.course.gpu`` is true;
* and, in the README, the notebook table (title, badge, topics, time) and launch badge.
"""
from __future__ import annotations

import re
from pathlib import Path

from course_utils import __version__

#: GitHub ``owner/name`` of the course repository -- the one setting to change when it moves.
REPOSITORY = "deep-learning-course/deep-learning-notebooks"
#: The git ref students get (a release tag matching the package version).
REF = f"v{__version__}"
#: Colab's preinstalled packages that installing the course must never upgrade or downgrade.
COLAB_KEEP = ("torch", "numpy", "matplotlib", "ipywidgets")

RELEASE_DIR = "notebooks"
GENERATED_KEY = "generated"  # cell.metadata.course.generated marks a generated cell
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def _check_path(path: str) -> str:
    path = str(path).strip("/")
    if not path or ".." in path.split("/") or " " in path:
        raise ValueError(f"expected a relative path inside the repository, got {path!r}")
    return path


def notebook_path(assignment: str, name: str | None = None) -> str:
    """The student notebook's path in the repository: ``notebooks/<assignment>/<name>.ipynb``."""
    return _check_path(f"{RELEASE_DIR}/{assignment}/{name or assignment}.ipynb")


def colab_url(path: str, repository: str = REPOSITORY, ref: str = REF) -> str:
    """Open a notebook of the repository (``path`` relative to its root) in Colab."""
    return f"https://colab.research.google.com/github/{repository}/blob/{ref}/{_check_path(path)}"


def binder_url(path: str | None = None, repository: str = REPOSITORY, ref: str = REF) -> str:
    """Launch the repository on mybinder.org in JupyterLab, opening ``path`` if given."""
    url = f"https://mybinder.org/v2/gh/{repository}/{ref}"
    return url + (f"?labpath={_check_path(path)}" if path else "")


def install_spec(repository: str = REPOSITORY, ref: str = REF) -> str:
    """The pip requirement that installs the course package from the repository at ``ref``."""
    return f"course-utils @ git+https://github.com/{repository}@{ref}"


def badges_markdown(path: str, repository: str = REPOSITORY, ref: str = REF) -> str:
    """Markdown for the Colab and Binder badges of one notebook."""
    return (f"[![Open in Colab]({COLAB_BADGE})]({colab_url(path, repository, ref)}) "
            f"[![Launch Binder]({BINDER_BADGE})]({binder_url(path, repository, ref)})")


def setup_cell_source(repository: str = REPOSITORY, ref: str = REF) -> str:
    """The first code cell of every notebook: installs the course on Colab, nothing elsewhere."""
    keep = ", ".join(repr(p) for p in COLAB_KEEP)
    return f'''# Setup for Google Colab: installs the course package there; does nothing anywhere else.
import sys

if "google.colab" in sys.modules:
    import importlib.metadata
    import pathlib

    # pin Colab's own torch, numpy, matplotlib and ipywidgets for this install: never up- or downgrade them
    keep = []
    for package in ({keep}):
        try:
            keep.append(f"{{package}}=={{importlib.metadata.version(package)}}")
        except importlib.metadata.PackageNotFoundError:
            pass
    pathlib.Path("/tmp/course-keep.txt").write_text("\\n".join(keep) + "\\n")
    get_ipython().run_line_magic("pip", "install -q -c /tmp/course-keep.txt '{install_spec(repository, ref)}'")'''


def how_to_run_markdown(gpu: bool = False) -> str:
    """The "How to run this notebook" cell; a lesson's own notes (run time, data) follow it."""
    colab_gpu = "*Runtime → Change runtime type* → GPU" if gpu else "not needed"
    return f"""## How to run this notebook
| where | how | GPU |
|---|---|---|
| your machine | `make lab` in a clone of the course repository (it installs everything into `.venv`) | used if present |
| Binder | the *launch Binder* badge above; nothing to install | no |
| Colab | the *Open in Colab* badge above; the first code cell installs the course package | {colab_gpu} |

Every notebook runs on a plain laptop CPU; when a GPU is present the same code uses it. Run the cells in order
(*Run → Run All Cells*, or Shift+Enter one at a time)."""


def _generated(cell) -> str | None:
    return cell.get("metadata", {}).get("course", {}).get(GENERATED_KEY)


def _generated_cell(kind: str, cell_type: str, source: str):
    from nbformat.v4 import new_code_cell, new_markdown_cell

    cell = new_code_cell(source) if cell_type == "code" else new_markdown_cell(source)
    cell.id = f"course-{kind}"  # fixed ids: a re-release changes nothing
    cell.metadata = {"course": {GENERATED_KEY: kind}}
    return cell


def sync_notebook(nb, assignment: str, name: str | None = None) -> bool:
    """Insert or refresh the generated cells and Colab metadata of one notebook, in place.

    Args:
        nb: an nbformat notebook (a student release being made from ``solutions/``).
        assignment, name: where its student version lives (``notebooks/<assignment>/<name>.ipynb``).
    Returns:
        True if anything changed.
    """
    snapshot = (repr(nb.cells), repr(nb.metadata))
    gpu = bool(nb.metadata.get("course", {}).get("gpu"))
    cells = [c for c in nb.cells if _generated(c) is None]
    title = 1 if cells and cells[0].cell_type == "markdown" else 0
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    badges = _generated_cell("badges", "markdown", badges_markdown(notebook_path(assignment, name)))
    how_to_run = _generated_cell("how-to-run", "markdown", how_to_run_markdown(gpu))
    setup = _generated_cell("colab-setup", "code", setup_cell_source())
    nb.cells = ([badges] + cells[:title] + [how_to_run] + cells[title:max(first_code, title)] + [setup]
                + cells[max(first_code, title):])
    if gpu:
        nb.metadata["accelerator"] = "GPU"
        nb.metadata["colab"] = {"gpuType": "T4", "provenance": []}
    else:
        nb.metadata.pop("accelerator", None)
        nb.metadata.pop("colab", None)
    return snapshot != (repr(nb.cells), repr(nb.metadata))


README_BEGIN = "<!-- BEGIN GENERATED NOTEBOOK TABLE (make release) -->"
README_END = "<!-- END GENERATED NOTEBOOK TABLE -->"
BADGE_BEGIN = "<!-- BEGIN GENERATED BADGE (make release) -->"
BADGE_END = "<!-- END GENERATED BADGE -->"


def readme_table(lessons: list[dict]) -> str:
    """The README's notebook table.

    Args:
        lessons: one dict per notebook with ``assignment``, ``name``, ``title``, ``topics``, ``minutes``.
    """
    rows = ["| # | notebook | open | topics | time |", "|---|---|---|---|---|"]
    for lesson in lessons:
        path = notebook_path(lesson["assignment"], lesson["name"])
        number = lesson["assignment"].split("_", 1)[0]
        rows.append(f"| {number} | [{lesson['title']}]({path}) | "
                    f"[![Open in Colab]({COLAB_BADGE})]({colab_url(path)}) | {lesson['topics']} | "
                    f"{lesson['minutes']} min |")
    return "\n".join(rows)


def _replace_between(text: str, begin: str, end: str, content: str, what: str) -> str:
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md lacks the {what} markers {begin!r} ... {end!r}")
    return pattern.sub(lambda _m: f"{begin}\n{content}\n{end}", text)


def sync_readme(text: str, lessons: list[dict]) -> str:
    """Return the README text with its generated table and launch badge refreshed."""
    first = notebook_path(lessons[0]["assignment"], lessons[0]["name"]) if lessons else None
    badge = (f"[![Launch Binder]({BINDER_BADGE})]({binder_url(first)}) "
             f"[![Open in Colab]({COLAB_BADGE})]({colab_url(first)})") if first else ""
    text = _replace_between(text, BADGE_BEGIN, BADGE_END, badge, "badge")
    return _replace_between(text, README_BEGIN, README_END, readme_table(lessons), "notebook table")


def lesson_info(nb, assignment: str, name: str) -> dict:
    """The README row's fields from a notebook's ``metadata.course`` (title, topics, minutes)."""
    course = nb.metadata.get("course", {})
    missing = [k for k in ("title", "topics", "minutes") if k not in course]
    if missing:
        raise ValueError(f"solutions/{assignment}/{name}.ipynb: metadata.course lacks {missing} "
                         "(set them in the `course:` header of its lessons/ source)")
    return {"assignment": assignment, "name": name, "title": course["title"], "topics": course["topics"],
            "minutes": course["minutes"]}


def sync_all(root: Path, assignments: list[str], write: bool = True) -> list[Path]:
    """Refresh the README's table and badge from the ``solutions/`` notebooks; return changed files."""
    import nbformat

    lessons = [lesson_info(nbformat.read(path, as_version=4), assignment, path.stem)
               for assignment in assignments for path in sorted((root / "solutions" / assignment).glob("*.ipynb"))]
    readme = root / "README.md"
    old = readme.read_text()
    new = sync_readme(old, lessons)
    if new == old:
        return []
    if write:
        readme.write_text(new)
    return [readme]
