"""Pictures that survive a static render (GitHub, nbviewer, nbconvert, a notebook opened unrun).

Saved notebooks carry no live-widget views and no widget state (``course_instructor.release.static_outputs``);
every interactive app leaves its PNG; and ``nbconvert --to html`` of every notebook shows every figure.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

from course_instructor.release import WIDGET_VIEW, assignments

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = [p for a in assignments(REPO) for folder in ("solutions", "notebooks")
             for p in sorted((REPO / folder / a).glob("*.ipynb"))]


def _ids(path: Path) -> str:
    return str(path.relative_to(REPO))


def _outputs(nb):
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            yield index, output


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_no_live_widget_views_or_state_saved(path):
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata, f"{_ids(path)} saves widget state: run `make lessons`"
    live = [i for i, out in _outputs(nb) if WIDGET_VIEW in out.get("data", {})]
    assert not live, f"{_ids(path)}: cells {live} save a live-widget view that static renderers cannot draw"


# The figures are committed once, in the student notebooks (solutions/ keeps only the outputs the
# release clears and those nbval checks: instructor/course_instructor/lessons.py).
@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parts[-3] == "notebooks"], ids=_ids)
def test_every_app_leaves_a_picture_and_html_shows_every_figure(path):
    nb = nbformat.read(path, as_version=4)
    apps = [(i, out) for i, out in _outputs(nb) if str(out.get("data", {}).get("text/plain", "")).startswith("App(")]
    assert apps, f"{_ids(path)} has no saved interactive app output (run `make lessons FORCE=1`)"
    for index, out in apps:
        assert "image/png" in out["data"], f"{_ids(path)} cell {index}: the app saved no picture"
    figures = sum(1 for _, out in _outputs(nb) if "image/png" in out.get("data", {}))
    html, _ = HTMLExporter().from_notebook_node(nb)
    shown = len(re.findall(r'<img[^>]*src="data:image/png;base64,', html))
    assert shown == figures, f"{_ids(path)}: {figures} figures saved, {shown} shown in the HTML export"
