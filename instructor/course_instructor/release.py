"""Instructor tooling: turn ``solutions/`` (nbgrader source) into ``notebooks/`` (student release).

The release itself is nbgrader's ``generate_assignment`` (configured in ``nbgrader_config.py``);
this module only runs it for several assignments and re-executes the instructor notebooks.

The command is ``make lessons`` (``python -m course_instructor.lessons``, see :mod:`course_instructor.lessons`):
it syncs the lesson sources, re-executes what changed and then calls :func:`generate`;
``python -m course_instructor.release`` is the same command.

The one piece of configuration nbgrader lacks is :class:`KeepDemoOutputs`: nbgrader's
``ClearOutput`` wipes every output of the release, so the student notebooks would render on
GitHub or Colab without a single figure. We clear the outputs of nbgrader's own cells (answers,
tests, tasks -- they would show the reference solution's results) and keep the lesson's
figures and tables.

Saved outputs are made *static* (:func:`static_outputs`): a live widget exists only while its
kernel runs, so the saved notebook keeps each widget's PNG and text instead of a widget view
that GitHub, nbconvert and a freshly opened JupyterLab could not draw ("model not found"), and
no widget state is stored. Running the cell brings the live widget back.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbgrader.preprocessors import ClearOutput, NbGraderPreprocessor

REPO_ROOT = Path(__file__).resolve().parents[2]  # instructor/course_instructor/release.py
SOURCE_DIR = "solutions"
RELEASE_DIR = "notebooks"


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_outputs(nb):
    """Make a notebook's saved outputs render without a kernel; modifies and returns ``nb``.

    Drops the widget-view entry from every output bundle (the course's apps also carry a PNG
    and a text line, progress bars their text), drops outputs left with nothing to show, and
    removes the saved widget state (``metadata.widgets``). Consecutive stream outputs are merged
    (nbconvert's ``CoalesceStreamsPreprocessor``): how a kernel splits a print into messages is
    timing, and would change the saved notebook from one run to the next.
    """
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb.metadata.pop("widgets", None)
    coalesce = CoalesceStreamsPreprocessor()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        coalesce.preprocess_cell(cell, {}, index)
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                if not data:
                    continue
            kept.append(output)
        cell.outputs = kept
    return nb


def _is_nbgrader_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade") or meta.get("task"))


class KeepDemoOutputs(ClearOutput):
    """nbgrader's ClearOutput, restricted to nbgrader cells (solutions, tests, tasks).

    Outputs of ordinary cells -- the lesson's figures, tables and widgets' static pictures --
    stay in the student release, made static (:func:`static_outputs`). Execution counts are
    cleared everywhere.
    """

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        return static_outputs(nb), resources

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and not _is_nbgrader_cell(cell):
            cell.execution_count = None
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = None
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)


class PlatformCells(NbGraderPreprocessor):
    """Adds the cells every student notebook shares (badges, "How to run", the Colab setup cell)
    and Colab's GPU metadata, from the one template in :mod:`course_instructor.platforms`."""

    def preprocess(self, nb, resources):
        from course_instructor.platforms import sync_notebook

        info = resources.get("nbgrader", {})
        sync_notebook(nb, info["assignment"], info["notebook"])
        return nb, resources


def assignments(root: Path = REPO_ROOT) -> list[str]:
    """Names of the assignments in ``solutions/`` (one folder each), sorted."""
    source = root / SOURCE_DIR
    return sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))


def nbgrader_env() -> dict:
    """The environment for an nbgrader subprocess: this interpreter's ``bin/`` first on PATH.

    nbgrader runs the ``alembic`` command to create a gradebook, and finds it only on PATH.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def generate(names: list[str], root: Path = REPO_ROOT, release_dir: str | os.PathLike = RELEASE_DIR, db_url: str | None = None,
             source_dir: str | os.PathLike | None = None) -> None:
    """Run ``nbgrader generate_assignment`` for each assignment.

    Each assignment is generated into a temporary folder first and moved into place only when
    nbgrader succeeds, so a failed release never leaves ``notebooks/`` half-deleted.

    Args:
        names: assignment folder names under ``<root>/solutions``.
        root: the nbgrader course root (``nbgrader_config.py`` is read from the repository).
        release_dir: where the student versions go, relative to ``root`` or absolute.
        db_url: the gradebook to record the release in (default: ``<root>/gradebook.db``).
        source_dir: where the notebooks to release are (default: ``<root>/solutions``);
            :mod:`course_instructor.lessons` passes a folder with the lessons' outputs filled in.
    Raises:
        subprocess.CalledProcessError if nbgrader fails; its log is on stderr.
    """
    root = Path(root).resolve()
    target = Path(release_dir) if Path(release_dir).is_absolute() else root / release_dir
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        with tempfile.TemporaryDirectory(dir=target, prefix=f".{name}-") as tmp:
            cmd = [
                sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
                f"--CourseDirectory.root={root}",
                f"--CourseDirectory.release_directory={tmp}",
            ]
            if db_url:
                cmd.append(f"--CourseDirectory.db_url={db_url}")
            if source_dir:
                cmd.append(f"--CourseDirectory.source_directory={Path(source_dir).resolve()}")
            # nbgrader reads nbgrader_config.py from the working directory: always the repository's.
            subprocess.run(cmd, cwd=REPO_ROOT, check=True, env=nbgrader_env())
            final = target / name
            if final.exists():
                shutil.rmtree(final)
            shutil.move(str(Path(tmp) / name), final)


def main(argv: list[str] | None = None) -> int:
    """``python -m course_instructor.release``: the one command, :func:`course_instructor.lessons.main`."""
    from course_instructor.lessons import main as lessons_main

    return lessons_main(argv)


if __name__ == "__main__":
    sys.exit(main())
