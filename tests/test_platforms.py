"""course_instructor.platforms: badges, links and the Colab setup cell come from one setting and stay in sync."""
from __future__ import annotations

import importlib.metadata
import sys
import types
from pathlib import Path

import nbformat
import pytest

from course_instructor import platforms
from course_instructor.release import assignments

REPO = Path(__file__).resolve().parent.parent


def test_links_follow_the_one_setting(monkeypatch):
    monkeypatch.setattr(platforms, "REPOSITORY", "someone/course")
    monkeypatch.setattr(platforms, "REF", "v9")
    path = platforms.notebook_path("01_x")
    assert path == "notebooks/01_x/01_x.ipynb"
    assert platforms.colab_url(path, platforms.REPOSITORY, platforms.REF) == \
        "https://colab.research.google.com/github/someone/course/blob/v9/notebooks/01_x/01_x.ipynb"
    assert platforms.binder_url(path, platforms.REPOSITORY, platforms.REF) == \
        "https://mybinder.org/v2/gh/someone/course/v9?labpath=notebooks/01_x/01_x.ipynb"
    assert "git+https://github.com/someone/course@v9" in platforms.setup_cell_source("someone/course", "v9")


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "a b.ipynb"])
def test_bad_paths_are_refused(bad):
    with pytest.raises(ValueError, match="relative path"):
        platforms.colab_url(bad)


class _FakeIPython:
    def __init__(self):
        self.calls = []

    def run_line_magic(self, name, line):
        self.calls.append((name, line))


def _run_setup_cell(monkeypatch, on_colab: bool, tmp_path):
    source = platforms.setup_cell_source()
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    keep = tmp_path / "keep.txt"
    source = source.replace("/tmp/course-keep.txt", str(keep))
    ipython = _FakeIPython()
    exec(compile(source, "<setup cell>", "exec"), {"get_ipython": lambda: ipython})
    return ipython.calls, keep


def test_setup_cell_does_nothing_off_colab(monkeypatch, tmp_path):
    calls, keep = _run_setup_cell(monkeypatch, False, tmp_path)
    assert calls == [] and not keep.exists()


def test_setup_cell_on_colab_pins_the_preinstalled_packages(monkeypatch, tmp_path):
    calls, keep = _run_setup_cell(monkeypatch, True, tmp_path)
    assert len(calls) == 1
    magic, line = calls[0]
    assert magic == "pip" and line.startswith("install -q -c ")
    assert f"-c {keep}" in line and platforms.install_spec() in line
    pins = keep.read_text().split()
    for package in platforms.COLAB_KEEP:  # all four are installed here
        assert f"{package}=={importlib.metadata.version(package)}" in pins


def _notebooks(folder: str):
    for assignment in assignments(REPO):
        for path in sorted((REPO / folder / assignment).glob("*.ipynb")):
            yield assignment, path


def test_every_student_notebook_starts_with_badges_and_the_setup_cell():
    for assignment, path in _notebooks("notebooks"):
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "markdown", path
        assert platforms.colab_url(platforms.notebook_path(assignment, path.stem)) in first.source, path
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code[0].source == platforms.setup_cell_source(), f"{path}: the first code cell is not the setup cell"
        gpu = bool(nb.metadata.get("course", {}).get("gpu"))
        assert nb.cells[2].source == platforms.how_to_run_markdown(gpu), f"{path}: no generated 'How to run' cell"
        assert (nb.metadata.get("accelerator") == "GPU") is gpu, path


def test_instructor_notebooks_hold_no_generated_cells():
    """The common cells are added by the release (nbgrader_config.py), never stored in a lesson."""
    for _, path in _notebooks("solutions"):
        nb = nbformat.read(path, as_version=4)
        assert not [c for c in nb.cells if platforms._generated(c)], path
        assert "accelerator" not in nb.metadata and "colab" not in nb.metadata, path


def test_generated_cells_and_readme_are_in_sync():
    changed = platforms.sync_all(REPO, assignments(REPO), write=False)
    assert changed == [], f"run `make lessons`: out of date: {[str(p.relative_to(REPO)) for p in changed]}"


def test_sync_is_idempotent_and_marks_gpu_notebooks():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["course"] = {"gpu": True}
    assert platforms.sync_notebook(nb, "07_x") is True
    assert [c.cell_type for c in nb.cells] == ["markdown", "markdown", "markdown", "code", "code"]
    assert [c.id for c in nb.cells if platforms._generated(c)] == ["course-badges", "course-how-to-run", "course-colab-setup"]
    assert nb.metadata["accelerator"] == "GPU"
    assert platforms.sync_notebook(nb, "07_x") is False
    nb.metadata["course"]["gpu"] = False
    assert platforms.sync_notebook(nb, "07_x") is True and "accelerator" not in nb.metadata


def test_missing_readme_fields_are_a_clear_error():
    nb = nbformat.v4.new_notebook()
    nb.metadata["course"] = {"title": "T"}
    with pytest.raises(ValueError, match=r"lacks \['topics', 'minutes'\]"):
        platforms.lesson_info(nb, "01_x", "01_x")


def test_student_notebooks_and_checks_work_without_nbgrader():
    """Colab has no nbgrader: the visible checks must not need it."""
    import subprocess

    code = ("import sys; sys.modules['nbgrader'] = None\n"
            "from course_utils import checks, data, nets, plots, reproducibility, training, widgets\n"
            "checks.check_close([1.0], [1.0], 'x', verbose=False)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for _, path in _notebooks("notebooks"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert "import nbgrader" not in cell.source and "from nbgrader" not in cell.source, path
