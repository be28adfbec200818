"""One source per lesson: lessons/<a>/<nb>.py and solutions/<a>/<nb>.ipynb agree, and nothing is stale.

The guards (fast, no kernel): each lesson text is exactly what jupytext writes for its paired
notebook; the notebook is in its committed form (no execution counts, timings, widget state or
outputs the student notebook already holds); its outputs were made from its current code. Then
jupytext's pairing itself, on a copy: an edit on either side survives a sync with cell ids,
outputs and nbgrader metadata intact.
"""
from __future__ import annotations

import copy
import difflib
import json
import os
import shutil

import jupytext
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_instructor import lessons
from roundtrip_helpers import REPO

NOTEBOOKS = lessons.lesson_notebooks(root=REPO)


def _name(path) -> str:
    return path.parent.name


def test_every_lesson_is_paired():
    texts = sorted(p.relative_to(REPO / "lessons") for p in (REPO / "lessons").glob("*/*.py"))
    notebooks = sorted(p.relative_to(REPO / "solutions").with_suffix(".py") for p in (REPO / "solutions").glob("*/*.ipynb"))
    assert texts == notebooks, "lessons/ and solutions/ hold different lessons: run `make lessons`"
    assert len(texts) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_lesson_and_notebook_agree(path):
    text = lessons.lesson_path(path, REPO).read_text()
    expected = lessons.text_of(nbformat.read(path, as_version=4), REPO)
    if text != expected:
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                 "from the notebook", "lesson text", n=1))[:30])
        pytest.fail(f"lesson {_name(path)}: lessons/{_name(path)}/{path.stem}.py and solutions/{_name(path)}/{path.name} "
                    f"disagree; run `make lessons` (the newer side wins):\n{diff}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_is_in_committed_form(path):
    nb = nbformat.read(path, as_version=4)
    normal = lessons.normalize(copy.deepcopy(nb))
    assert nb == normal, (f"lesson {_name(path)}: solutions/{_name(path)}/{path.name} carries timings, "
                          "widget state, kernel details or figures that belong to the student notebook: run `make lessons`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_outputs_are_from_the_current_code(path):
    nb = nbformat.read(path, as_version=4)
    assert not lessons.is_stale(nb, REPO), (f"lesson {_name(path)}: its code changed since its outputs were made: "
                                            f"run `make lessons` (it re-executes {_name(path)} and releases it)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_common_cells_come_from_the_template(path):
    """Badges, "How to run" and the Colab setup cell are added at release, never written in a lesson."""
    text = lessons.lesson_path(path, REPO).read_text()
    for marker in ("colab-badge.svg", "## How to run this notebook", "Setup for Google Colab"):
        assert marker not in text, f"lesson {_name(path)} contains {marker!r}: it comes from instructor/course_instructor/platforms.py"


def _nbgrader(grade_id, **kw):
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "locked": False, "task": False,
                         "solution": False, "grade": False, **kw}}


def _lesson_nb():
    out = [new_output("stream", name="stdout", text="figure\n")]
    cells = [
        new_markdown_cell("# Title\n\nOne sentence."),
        new_code_cell("print('figure')", outputs=copy.deepcopy(out), execution_count=1),
        new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2)", outputs=copy.deepcopy(out), execution_count=2),
        new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", execution_count=3,
                      metadata=_nbgrader("f_answer", solution=True)),
        new_code_cell("assert f() == 1", outputs=copy.deepcopy(out), execution_count=4,
                      metadata={**_nbgrader("f_tests", grade=True, locked=True, points=1),
                                "execution": {"iopub.status.idle": "2026-01-01T00:00:00Z"}}),
    ]
    nb = new_notebook(cells=cells, metadata={"course": {"title": "T"}, "widgets": {},
                                             "kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"},
                                             "language_info": {"name": "python", "version": "3.11.7"}})
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


def test_normalize_keeps_only_outputs_the_release_lacks():
    nb = lessons.normalize(_lesson_nb())
    demo, checked, _, tests = nb.cells[1:]
    assert demo.outputs == [] and checked.outputs and tests.outputs  # the demo's figure lives in notebooks/
    assert [c.execution_count for c in nb.cells[1:]] == [None, 2, None, 4]  # nbval needs a count with outputs
    assert "execution" not in tests.metadata and "widgets" not in nb.metadata
    assert nb.metadata["language_info"] == lessons.LANGUAGE_INFO


def test_release_source_takes_figures_back_by_cell_id():
    full = _lesson_nb()
    committed = lessons.normalize(copy.deepcopy(full))
    released = lessons.release_source(committed, full)
    assert released.cells[1].outputs == full.cells[1].outputs
    changed = copy.deepcopy(committed)
    changed.cells[1].source = "print('another figure')"
    assert lessons.release_source(changed, full).cells[1].outputs == []  # never a stale figure for new code


def test_inputs_hash_follows_code_not_prose():
    nb = _lesson_nb()
    before = lessons.inputs_hash(nb, REPO)
    nb.cells[0].source = "# Title\n\nAnother sentence."
    assert lessons.inputs_hash(nb, REPO) == before
    nb.cells[4].source = "assert f() == 1, 'one'"
    assert lessons.inputs_hash(nb, REPO) != before


@pytest.fixture()
def paired(tmp_path, monkeypatch):
    """A copy of one lesson, its notebook and the repository's jupytext.toml."""
    shutil.copy(REPO / "jupytext.toml", tmp_path)
    for folder, suffix in (("solutions", ".ipynb"), ("lessons", ".py")):
        (tmp_path / folder / "00_welcome").mkdir(parents=True)
        shutil.copy(REPO / folder / "00_welcome" / f"00_welcome{suffix}", tmp_path / folder / "00_welcome")
    return tmp_path / "solutions/00_welcome/00_welcome.ipynb", tmp_path / "lessons/00_welcome/00_welcome.py"


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_editing_the_text_keeps_ids_outputs_and_metadata(paired):
    ipynb, text = paired
    before = _cells(ipynb)
    test_cell = next(i for i, c in enumerate(before) if c["metadata"].get("nbgrader", {}).get("grade"))
    source = text.read_text()
    old_line = "".join(before[test_cell]["source"]).splitlines()[0]
    text.write_text(source.replace("Prerequisites", "Prerequisites (edited)", 1).replace(old_line, old_line + "  # edited", 1))
    lessons.sync(ipynb, ipynb.parents[2])
    after = _cells(ipynb)
    assert [c["id"] for c in after] == [c["id"] for c in before]
    assert [c.get("outputs") for c in after] == [c.get("outputs") for c in before]
    assert [c["metadata"] for c in after] == [c["metadata"] for c in before]
    assert "Prerequisites (edited)" in "".join(after[1]["source"]) + "".join(after[0]["source"])
    assert "# edited" in "".join(after[test_cell]["source"])


def test_editing_the_notebook_updates_the_text(paired):
    ipynb, text = paired
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[0].source += "\n\nA sentence added in JupyterLab."
    nbformat.write(nb, ipynb)
    lessons.sync(ipynb, ipynb.parents[2])
    assert "# A sentence added in JupyterLab." in text.read_text()
    assert jupytext.read(text).cells[0].source == nb.cells[0].source


@pytest.mark.slow
def test_lessons_run_with_one_thread_in_full_mode(tmp_path, monkeypatch):
    """Saved outputs must not depend on who ran `make lessons`: fixed settings in the kernel only."""
    monkeypatch.setenv("COURSE_NUM_THREADS", "4")
    nb = new_notebook(cells=[new_code_cell("import os\nprint(os.environ['COURSE_NUM_THREADS'], os.environ['COURSE_FAST'])")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    out = lessons.execute(nb, tmp_path / "x.ipynb")
    assert out.cells[0].outputs[0]["text"] == "1 0\n"
    assert os.environ["COURSE_NUM_THREADS"] == "4"  # this process is left as it was
