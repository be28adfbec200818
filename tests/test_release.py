"""course_instructor.release: the preprocessor that keeps demo outputs, and the command's errors."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course_instructor import release


def _cell(nbgrader=None):
    cell = new_code_cell("print(1)", execution_count=3, outputs=[new_output("stream", name="stdout", text="1\n")])
    if nbgrader:
        cell.metadata["nbgrader"] = {"grade_id": "x", "schema_version": 3, "locked": False, "task": False,
                                     "solution": False, "grade": False, **nbgrader}
    return cell


@pytest.mark.parametrize(
    "nbgrader, keeps",
    [(None, True), ({"solution": True}, False), ({"grade": True, "points": 1}, False), ({"task": True}, False),
     ({"locked": True}, True)],  # a read-only demo cell keeps its figure
)
def test_keep_demo_outputs(nbgrader, keeps):
    nb = new_notebook(cells=[_cell(nbgrader)])
    out, _ = release.KeepDemoOutputs().preprocess(nb, {})
    cell = out.cells[0]
    assert cell.execution_count is None
    assert bool(cell.outputs) is keeps


def test_assignments_are_the_solution_folders(repo):
    names = release.assignments(repo)
    assert "00_welcome" in names
    assert names == sorted(names)


def test_unknown_assignment_is_a_clear_error(capsys):
    with pytest.raises(SystemExit, match=r"unknown assignment\(s\) \['99_nope'\]"):
        release.main(["99_nope"])


def test_nbgrader_env_puts_this_python_first(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    env = release.nbgrader_env()
    import sys
    from pathlib import Path

    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_release_notebooks_have_budgets(repo):
    for path in sorted((repo / "solutions").glob("*/*.ipynb")):
        meta = nbformat.read(path, as_version=4).metadata
        assert isinstance(meta.get("course", {}).get("budget_s"), (int, float)), f"{path.name} needs metadata.course.budget_s"


def test_static_outputs_keep_pictures_and_drop_live_widgets():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc"}
    app = new_output("execute_result", data={release.WIDGET_VIEW: view, "image/png": "iVBOR", "text/plain": "App"})
    bar = new_output("display_data", data={release.WIDGET_VIEW: view})  # a progress bar without text
    text = new_output("stream", name="stdout", text="hello\n")
    nb = new_notebook(cells=[new_code_cell("app", outputs=[app, bar, text])])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    out = release.static_outputs(nb)
    assert "widgets" not in out.metadata
    outputs = out.cells[0].outputs
    assert len(outputs) == 2
    assert set(outputs[0]["data"]) == {"image/png", "text/plain"}
    assert outputs[1]["text"] == "hello\n"


def test_release_preprocessor_makes_outputs_static():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc"}
    cell = new_code_cell("app", outputs=[new_output("display_data", data={release.WIDGET_VIEW: view, "image/png": "x"})])
    nb = new_notebook(cells=[cell])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    out, _ = release.KeepDemoOutputs().preprocess(nb, {})
    assert "widgets" not in out.metadata and list(out.cells[0].outputs[0]["data"]) == ["image/png"]


def test_static_outputs_merge_stream_chunks():
    """How a kernel splits one print into messages is timing: the saved notebook must not show it."""
    chunks = [new_output("stream", name="stdout", text="Using CPU"), new_output("stream", name="stdout", text=" (1 thread)\n")]
    nb = new_notebook(cells=[new_code_cell("print(...)", outputs=chunks)])
    assert release.static_outputs(nb).cells[0].outputs == [new_output("stream", name="stdout", text="Using CPU (1 thread)\n")]
