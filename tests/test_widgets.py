"""Tests for course_utils.widgets: the App state machine, the controls and how an app displays."""
from __future__ import annotations

import base64
import json
import os

import ipywidgets
import matplotlib.pyplot as plt
import pytest

from course_utils import widgets as W
from course_utils.widgets import App, AppState, button, dropdown, slider, toggle

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Recorder:
    """compute/draw pair that records its calls: data = list of a * i for i < 5."""

    def __init__(self, fail_when=None):
        self.calls = []
        self.fail_when = fail_when

    def compute(self, a, lr, kind):
        self.calls.append((a, lr, kind))
        if self.fail_when is not None and a == self.fail_when:
            raise ZeroDivisionError("a is too big for this demo")
        return [a * i for i in range(5)]

    @staticmethod
    def draw(data, values):
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot(data)
        ax.set_title(values["kind"])
        return fig


def make_app(recorder=None, **kwargs):
    recorder = recorder or Recorder()
    controls = {
        "a": slider(0, 10, 1, 3, "a"),
        "lr": slider(1e-4, 1.0, value=1e-2, description="learning rate", log=True),
        "kind": dropdown(["sin", "cos"], description="kind"),
    }
    return App(controls, recorder.compute, recorder.draw, **kwargs), recorder


@pytest.fixture(autouse=True)
def no_figure_leaks():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before, "a test left matplotlib figures open"


def test_state_after_creation():
    app, rec = make_app(title="demo")
    state = app.state
    assert isinstance(state, AppState)
    assert state.n_updates == 1 and state.n_computes == 1 and len(rec.calls) == 1
    assert state.values == {"a": 3, "lr": pytest.approx(1e-2), "kind": "sin"}
    assert state.data == [0, 3, 6, 9, 12]
    assert state.error is None
    assert state.png.startswith(PNG_SIGNATURE) and app.static_png() == state.png
    assert state.last_update_s > 0
    assert "demo" in repr(app) and "a=3" in repr(app)


def test_update_sets_values_and_recomputes_exactly_once():
    app, rec = make_app()
    state = app.update(a=7, lr=0.1, kind="cos")
    assert state is app.state
    assert len(rec.calls) == 2 and rec.calls[-1] == (7, pytest.approx(0.1), "cos")
    assert state.n_updates == 2
    assert state.values["a"] == 7 and app.controls["a"].value == 7 and app.values["kind"] == "cos"
    assert state.data == [0, 7, 14, 21, 28]
    app.update()  # no overrides: recompute with the current values
    assert state.n_updates == 3 and len(rec.calls) == 3


def test_moving_a_control_updates_the_app_like_a_student_would():
    app, rec = make_app()
    app.controls["a"].value = 5  # what a slider release does in the browser
    assert app.state.n_updates == 2 and app.state.data[1] == 5
    assert rec.calls[-1][0] == 5


def test_cache_memoizes_compute_by_control_values():
    app, rec = make_app(cache=True)
    app.update(a=4)
    app.update(a=3)  # back to the start value: cached
    app.update(a=4)
    assert len(rec.calls) == 2 and app.state.n_computes == 2
    assert app.state.n_updates == 4 and app.state.data == [0, 4, 8, 12, 16]
    app.refresh()  # clears the cache
    assert len(rec.calls) == 3


def test_cache_without_cache_recomputes_every_time():
    app, rec = make_app(cache=False)
    app.update(a=4)
    app.update(a=3)
    assert len(rec.calls) == 3


def test_cache_needs_hashable_values():
    with pytest.raises(TypeError, match="hashable"):
        App({"xs": dropdown({"short": [1, 2], "long": [1, 2, 3]})}, lambda xs: xs, Recorder.draw, cache=True)


def test_unknown_control_name_lists_valid_names():
    app, _ = make_app()
    with pytest.raises(ValueError, match=r"unknown control.*'b'.*valid names.*'a', 'lr', 'kind'"):
        app.update(b=1)


@pytest.mark.parametrize("overrides, match", [
    (dict(a=11), r"\[0, 10\]"),
    (dict(a=-1), r"\[0, 10\]"),
    (dict(a=2.5), "whole number"),
    (dict(a="3"), "number"),
    (dict(lr=2.0), r"\[0.0001, 1\]"),
    (dict(lr=1e-5), r"\[0.0001, 1\]"),
    (dict(kind="tan"), "one of"),
    (dict(a=5, kind="tan"), "one of"),  # atomic: a must not change either
])
def test_out_of_range_values_raise_and_change_nothing(overrides, match):
    app, rec = make_app()
    with pytest.raises(ValueError, match=match):
        app.update(**overrides)
    assert app.values == {"a": 3, "lr": pytest.approx(1e-2), "kind": "sin"}
    assert app.state.n_updates == 1 and len(rec.calls) == 1


def test_slider_helper_types_and_continuous_update():
    assert isinstance(slider(0, 10, 1, 3), ipywidgets.IntSlider)
    assert isinstance(slider(0, 1, 0.1, 0.5), ipywidgets.FloatSlider)
    log = slider(1e-3, 10, value=0.1, log=True)
    assert isinstance(log, ipywidgets.FloatLogSlider)
    assert (log.min, log.max, log.value) == (pytest.approx(-3), pytest.approx(1), pytest.approx(0.1))
    assert slider(0, 10).continuous_update is False  # expensive by default
    assert slider(0, 10, expensive=False).continuous_update is True
    assert slider(0.0, 1.0).step == pytest.approx(0.01)


@pytest.mark.parametrize("args, kwargs, error", [
    ((5, 1), {}, ValueError),
    ((0, 10, 0), {}, ValueError),
    ((0, 10, 1, 11), {}, ValueError),
    ((0, 1), {"log": True}, ValueError),
    (("0", 10), {}, TypeError),
    ((0, True), {}, TypeError),
])
def test_slider_rejects_bad_arguments(args, kwargs, error):
    with pytest.raises(error):
        slider(*args, **kwargs)


def test_dropdown_toggle_button_helpers():
    dd = dropdown({"ReLU": "relu", "tanh": "tanh"}, value="tanh", tooltip="activation")
    assert dd.value == "tanh" and isinstance(dd, ipywidgets.Dropdown)
    assert dropdown([("one", 1), ("two", 2)]).value == 1
    with pytest.raises(ValueError, match="one of"):
        dropdown(["a", "b"], value="c")
    with pytest.raises(TypeError):
        dropdown("ab")
    assert toggle("show bias", True).value is True
    with pytest.raises(TypeError):
        toggle("x", value=1)
    clicks = []
    btn = button("go", on_click=clicks.append, tooltip="run it")
    btn.click()
    assert clicks == [btn]


def test_tooltip_keyword_matches_the_installed_ipywidgets():
    assert W.IPYWIDGETS_MAJOR == int(ipywidgets.__version__.split(".")[0])
    key = "tooltip" if W.IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert W._tooltip_kwargs("hi") == {key: "hi"}
    assert getattr(slider(0, 1, tooltip="hi"), key) == "hi"


def test_exception_in_compute_is_captured_and_shown(capsys):
    app, rec = make_app(Recorder(fail_when=9))
    capsys.readouterr()
    state = app.update(a=9)  # must not raise
    assert state.error.startswith("ZeroDivisionError in compute(): a is too big")
    assert "Traceback" in state.traceback
    assert state.data is None and state.png is None and state.n_updates == 2
    # Without a kernel the output area prints to stdout: the student sees the message.
    assert "a is too big for this demo" in capsys.readouterr().out
    assert "image/png" not in app.mimebundle()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        app.static_png()
    app.update(a=2)  # the app still works afterwards
    assert app.state.error is None and app.state.data == [0, 2, 4, 6, 8]


def test_errors_in_draw_are_captured_and_close_their_figures():
    def bad_draw(data, values):
        plt.figure()
        raise RuntimeError("axis trouble")

    app = App({"a": slider(0, 3, 1, 1)}, lambda a: a, bad_draw)
    assert app.state.error == "RuntimeError in draw(): axis trouble" and app.state.data == 1
    not_a_figure = App({"a": slider(0, 3, 1, 1)}, lambda a: a, lambda data, values: None)
    assert "draw() must return a matplotlib Figure (or PNG bytes), got NoneType" in not_a_figure.state.error
    not_a_png = App({"a": slider(0, 3, 1, 1)}, lambda a: a, lambda data, values: b"GIF89a...")
    assert "draw() returned bytes that are not a PNG image" in not_a_png.state.error


def test_draw_may_return_png_bytes_it_rendered_itself():
    png = b"\x89PNG\r\n\x1a\n" + b"rest of the file"
    app = App({"a": slider(0, 3, 1, 1)}, lambda a: a, lambda data, values: png)
    assert app.state.error is None and app.state.png == png
    assert app.update(a=2).png == png and app.static_png() == png


def test_mimebundle_has_widget_view_png_and_text():
    app, _ = make_app()
    bundle = app._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"] == {
        "version_major": 2, "version_minor": 0, "model_id": app.widget.model_id}
    assert base64.b64decode(bundle["image/png"]) == app.state.png
    assert bundle["text/plain"] == repr(app)
    assert isinstance(app.widget, ipywidgets.Box)
    assert app.output in app.widget.children


def test_buttons_call_back_then_recompute_even_with_cache():
    seen = []
    app, rec = make_app(cache=True, buttons={"Resample": seen.append})
    app.buttons["Resample"].click()
    assert seen == [app] and len(rec.calls) == 2 and app.state.n_updates == 2

    def broken(app):
        raise ValueError("no more samples")

    app, rec = make_app(buttons={"Oops": broken})
    app.buttons["Oops"].click()
    assert app.state.error == "ValueError in the button callback: no more samples"
    assert len(rec.calls) == 1


def test_layouts_and_constructor_errors():
    app, _ = make_app(layout="horizontal", title="side by side")
    assert isinstance(app.widget.children[0], ipywidgets.HTML)
    assert isinstance(app.widget.children[1], ipywidgets.HBox)
    draw = Recorder.draw
    with pytest.raises(ValueError, match="layout"):
        App({}, lambda: 1, draw, layout="grid")
    with pytest.raises(TypeError, match="ipywidget"):
        App({"a": 3}, lambda a: a, draw)
    with pytest.raises(ValueError, match="identifier"):
        App({"learning rate": slider(0, 1)}, lambda **kw: 1, draw)
    with pytest.raises(TypeError, match="compute"):
        App({}, None, draw)


@pytest.mark.slow
def test_app_in_an_executed_notebook_saves_widget_and_png(tmp_path, monkeypatch, repo):
    """A real kernel (inline backend) shows the app as one output with widget view + PNG, the
    figure and compute's prints land inside the Output widget (not as stray outputs), widget
    state is saved, and
    nbconvert falls back to the PNG when there is no widget state."""
    import nbformat

    from kernel_helpers import execute_notebook
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel must pick the inline backend itself
    monkeypatch.setenv("PYTHONPATH", str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cells = [
        "import matplotlib.pyplot as plt\n"
        "from course_utils.widgets import App, slider\n"
        "def draw(data, values):\n"
        "    fig, ax = plt.subplots(figsize=(3, 2))\n"
        "    ax.plot([0, 1], [0, data])\n"
        "    return fig\n"
        "def compute(a):\n"
        "    print('computing', a)\n"
        "    return a\n"
        "app = App({'a': slider(0, 10, 1, 3, 'a')}, compute, draw, title='demo')\n"
        "app",
        "broken = App({'a': slider(0, 10, 1, 3, 'a')}, lambda a: 1 / 0, draw)\n"
        "broken",
        "app.update(a=5)\n"
        "print(app.state.n_updates, len(plt.get_fignums()), plt.get_backend())",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = execute_notebook(nb, tmp_path)  # in a subprocess with a hard time limit

    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    [out] = nb.cells[0].outputs  # one output: the figure and the print went into the Output widget
    view = out["data"]["application/vnd.jupyter.widget-view+json"]
    assert view["version_major"] == 2 and view["model_id"] in state
    assert state[view["model_id"]]["model_name"] == "VBoxModel"
    assert base64.b64decode(out["data"]["image/png"]).startswith(PNG_SIGNATURE)
    output_models = [m["state"] for m in state.values() if m["model_name"] == "OutputModel"]
    captured = json.dumps([m.get("outputs", []) for m in output_models])
    assert "image/png" in captured  # the live figure, inside the Output widget
    assert "computing 5" in captured and "computing 3" not in captured  # cleared, then redrawn
    assert "ZeroDivisionError in compute()" in captured  # the error, shown to the student

    [broken] = nb.cells[1].outputs
    assert "image/png" not in broken["data"] and "ZeroDivisionError" in broken["data"]["text/plain"]
    assert nb.cells[2].outputs[0]["text"].split()[:2] == ["2", "0"]  # updated, no figure left open
    assert "inline" in nb.cells[2].outputs[0]["text"]

    import nbconvert
    del nb.metadata["widgets"]
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert f'src="data:image/png;base64,{out["data"]["image/png"][:40]}' in html


def test_runs_against_the_expected_ipywidgets_major_version():
    """`make test-widgets7` runs this file under ipywidgets 7.7 (Colab's API) with
    EXPECT_IPYWIDGETS_MAJOR=7; the main run uses ipywidgets 8."""
    expected = int(os.environ.get("EXPECT_IPYWIDGETS_MAJOR", "8"))
    assert W.IPYWIDGETS_MAJOR == expected == int(ipywidgets.__version__.split(".")[0])


def test_fast_redraw_keeps_several_backgrounds_and_render_png_is_a_png():
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from course_utils.plots import FastRedraw, render_png

    fig = Figure(figsize=(3, 2), dpi=50, layout="none")
    ax = fig.subplots()
    still, = ax.plot([0, 1], [0, 1])
    dot, = ax.plot([0.5], [0.5], "o")
    redraw = FastRedraw(fig, moving=[dot], backgrounds=2)
    for key in ("a", "b", "a", "b"):  # two static states, each drawn in full once
        still.set_ydata([0, 1] if key == "a" else [1, 0])
        png = redraw.png(static_key=key)
    assert redraw.n_full == 2 and redraw.has_background("a") and not redraw.has_background("c")
    redraw.png(static_key="c")  # a third key pushes out the least recently used ("a")
    assert redraw.n_full == 3 and not redraw.has_background("a")
    assert Image.open(io.BytesIO(png)).mode == "RGB"  # opaque picture: no alpha channel to encode
    assert render_png(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="backgrounds"):
        FastRedraw(fig, moving=[dot], backgrounds=0)
    with pytest.raises(ValueError, match="compress_level"):
        render_png(fig, compress_level=10)
