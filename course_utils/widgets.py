"""Interactive apps: the one pattern every interactive demo in the course follows.

An app is a few **controls** (sliders, dropdowns, check boxes, buttons), a ``compute``
function that turns the control values into data (the slow part: training, sampling, ...)
and a ``draw`` function that turns that data into a matplotlib figure (the fast part)::

    import matplotlib.pyplot as plt
    from course_utils.widgets import App, slider, dropdown

    def compute(n_hidden, activation):            # control values in, any data out
        return train_small_net(n_hidden, activation)

    def draw(data, values):                       # data in, a matplotlib Figure out
        fig, ax = plt.subplots()
        ax.plot(data["losses"])
        ax.set_title(f"{values['n_hidden']} hidden units")
        return fig

    app = App({"n_hidden": slider(1, 64, 1, 8, "hidden units"),
               "activation": dropdown(["relu", "tanh"], description="activation")},
              compute, draw, title="Width vs. loss", cache=True)
    app                                           # last line of the cell: shows the app

How it is shown
    The figure is rendered to a PNG once per update and shown inside an
    ``ipywidgets.Output`` (the same picture the inline backend would show; no ipympl). The
    app itself is displayed as ONE output whose bundle holds the widget view, a PNG of the
    current figure and a text line. JupyterLab, Notebook and Colab draw the live widget; GitHub,
    nbviewer and ``nbconvert --to html`` (when the notebook has no saved widget state) fall
    back to the PNG, so the saved notebook still reads well.

Testing without a browser
    ``app.update(n_hidden=32)`` sets controls, recomputes once and returns ``app.state``:
    ``state.values``, ``state.data``, ``state.n_updates``, ``state.n_computes``,
    ``state.last_update_s`` and ``state.error``. An exception in ``compute`` or ``draw`` never
    kills the app: it is stored in ``state.error`` and shown to the student in the output area.

Works with ipywidgets 8 and with the ipywidgets 7.7 that Colab ships (see the compatibility
section below).
"""
from __future__ import annotations

import base64
import html
import keyword
import math
import numbers
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import Image, clear_output, display
from matplotlib.figure import Figure

from course_utils.plots import render_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

__all__ = [
    "IPYWIDGETS_MAJOR",
    "App",
    "AppState",
    "slider",
    "dropdown",
    "toggle",
    "checkbox",
    "button",
]

# --------------------------------------------------------------------------------------------
# Compatibility: ipywidgets 8 (JupyterLab 4, Binder) and 7.7 (Colab)
# --------------------------------------------------------------------------------------------
# - Tooltips: 8 has ``tooltip`` on every widget; 7 calls it ``description_tooltip`` (only
#   ``Button``/``ToggleButton`` have ``tooltip`` in 7). Use ``_tooltip_kwargs``.
# - Display: 8 widgets have ``_repr_mimebundle_``, 7 widgets ``_ipython_display_``. We build the
#   widget-view bundle ourselves from ``model_id`` (the same format in both).
# - ``Output``: only ``with out:`` and ``out.clear_output()``, which behave alike in both; no
#   assignment to ``Output.outputs``.
# - Observers: ``observe(handler, names="value")`` (the 7 and 8 spelling).
IPYWIDGETS_MAJOR = int(widgets.__version__.split(".")[0])
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_WIDGET_VIEW_VERSION = {"version_major": 2, "version_minor": 0}  # same in ipywidgets 7 and 8
_STYLE = {"description_width": "initial"}  # show long descriptions in full


def _tooltip_kwargs(text: str | None) -> dict:
    """Keyword arguments that set a hover tooltip on a non-button widget, in 7 and in 8."""
    if not text:
        return {}
    return {"tooltip": text} if IPYWIDGETS_MAJOR >= 8 else {"description_tooltip": text}


# --------------------------------------------------------------------------------------------
# Controls
# --------------------------------------------------------------------------------------------
def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def slider(min, max, step=None, value=None, description: str = "", *, expensive: bool = True,
           log: bool = False, readout_format: str | None = None, tooltip: str | None = None):
    """A slider for a number: ``IntSlider``, ``FloatSlider`` or ``FloatLogSlider``.

    Args:
        min, max: the range, numbers with ``min < max``. With ``log=True`` these are the
            actual smallest and largest values (e.g. ``1e-4`` and ``1.0``), both > 0.
        step: the step; default 1 for integer ranges, ``(max - min) / 100`` otherwise. With
            ``log=True`` the step is in powers of ten (default 0.1, i.e. 10 steps per decade).
        value: the start value, inside ``[min, max]``; default ``min``.
        description: the label shown next to the slider.
        expensive: if True (the default) the app recomputes only when the slider is released
            (``continuous_update=False``); set False for cheap updates that may follow the drag.
        log: logarithmic slider (``FloatLogSlider``, base 10), for learning rates and the like.
        readout_format: format of the displayed value, e.g. ``".3f"``; a sensible default.
        tooltip: text shown when hovering over the slider.
    Returns:
        An ``IntSlider`` when ``min``, ``max``, ``step`` and ``value`` are all integers and
        ``log`` is False, a ``FloatLogSlider`` when ``log`` is True, else a ``FloatSlider``.
    Raises:
        TypeError: a bound, step or value is not a number.
        ValueError: ``min >= max``, ``step <= 0``, ``value`` outside the range, or a log range
            that is not positive.
    """
    for name, number in (("min", min), ("max", max), ("step", step), ("value", value)):
        if number is not None and not _is_number(number):
            raise TypeError(f"slider {name} must be a number, got {number!r} ({type(number).__name__})")
    if not min < max:
        raise ValueError(f"slider needs min < max, got min={min!r}, max={max!r}")
    if step is not None and not step > 0:
        raise ValueError(f"slider step must be > 0, got {step!r}")
    value = min if value is None else value
    if not min <= value <= max:
        raise ValueError(f"slider value must be in [min, max] = [{min!r}, {max!r}], got {value!r}")
    common = dict(description=description, continuous_update=not expensive, style=_STYLE,
                  **_tooltip_kwargs(tooltip))
    if log:
        if not min > 0:
            raise ValueError(f"a log slider needs min > 0, got min={min!r}")
        return widgets.FloatLogSlider(
            value=value, base=10, min=math.log10(min), max=math.log10(max),
            step=0.1 if step is None else step, readout_format=readout_format or ".3g", **common)
    if all(_is_integer(number) for number in (min, max, value, 1 if step is None else step)):
        return widgets.IntSlider(value=int(value), min=int(min), max=int(max),
                                 step=1 if step is None else int(step), readout_format=readout_format or "d", **common)
    return widgets.FloatSlider(value=value, min=min, max=max, step=(max - min) / 100 if step is None else step,
                               readout_format=readout_format or ".3g", **common)


def _option_values(options) -> list:
    """The values a selection widget can take: ``options`` may be a list of values, a list of
    ``(label, value)`` pairs or a dict ``label -> value`` (as ipywidgets accepts)."""
    if isinstance(options, Mapping):
        return list(options.values())
    return [item[1] if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) else item
            for item in options]


def dropdown(options, value=None, description: str = "", *, tooltip: str | None = None):
    """A drop-down list (``ipywidgets.Dropdown``).

    Args:
        options: a non-empty list of values (shown with ``str``), a list of
            ``(label, value)`` pairs, or a dict ``label -> value``.
        value: the start value, one of the option values; default the first.
        description: the label shown next to the list.
        tooltip: text shown when hovering.
    Raises:
        TypeError: ``options`` is a string or not a list/tuple/dict.
        ValueError: no options, or ``value`` is not one of them.
    """
    if isinstance(options, (str, bytes)) or not isinstance(options, (list, tuple, Mapping)):
        raise TypeError(f"dropdown options must be a list, tuple or dict, got {type(options).__name__}")
    values = _option_values(options)
    if not values:
        raise ValueError("dropdown needs at least one option")
    value = values[0] if value is None else value
    if value not in values:
        raise ValueError(f"dropdown value must be one of {values!r}, got {value!r}")
    if isinstance(options, Mapping):  # ipywidgets 7 deprecates dict options: pass pairs
        options = [(str(label), option) for label, option in options.items()]
    return widgets.Dropdown(options=options, value=value, description=description, style=_STYLE,
                            **_tooltip_kwargs(tooltip))


def toggle(description: str = "", value: bool = False, *, tooltip: str | None = None):
    """An on/off check box (``ipywidgets.Checkbox``) whose value is a ``bool``.

    Raises:
        TypeError: ``value`` is not a bool.
    """
    if not isinstance(value, bool):
        raise TypeError(f"toggle value must be True or False, got {value!r}")
    return widgets.Checkbox(value=value, description=description, indent=False, **_tooltip_kwargs(tooltip))


checkbox = toggle  #: Another name for :func:`toggle`.


def button(description: str, on_click: Callable | None = None, *, tooltip: str | None = None,
           icon: str = ""):
    """A push button (``ipywidgets.Button``).

    Args:
        description: the text on the button.
        on_click: called as ``on_click(button)`` on every click (the ipywidgets convention).
            Inside an :class:`App`, pass ``buttons={"label": callback}`` instead: the app then
            calls ``callback(app)`` and redraws.
        tooltip: text shown when hovering (``Button.tooltip`` exists in ipywidgets 7 and 8).
        icon: a FontAwesome icon name, e.g. ``"refresh"``.
    """
    if on_click is not None and not callable(on_click):
        raise TypeError(f"on_click must be callable, got {type(on_click).__name__}")
    btn = widgets.Button(description=description, tooltip=tooltip or "", icon=icon)
    if on_click is not None:
        btn.on_click(on_click)
    return btn


# --------------------------------------------------------------------------------------------
# Value checks for App.update (ipywidgets would silently clip or coerce)
# --------------------------------------------------------------------------------------------
def _check_in_range(name: str, value, low: float, high: float, what: str, tolerance: float) -> None:
    if not _is_number(value):
        raise ValueError(f"control {name!r} is {what} and needs a number, got {value!r}")
    if not low - tolerance <= value <= high + tolerance:
        raise ValueError(f"control {name!r} must be in [{low:g}, {high:g}], got {value!r}")


def _check_value(name: str, control, value) -> None:
    """Raise ``ValueError`` if ``control`` cannot take ``value`` exactly."""
    if isinstance(control, widgets.FloatLogSlider):
        low, high = control.base ** control.min, control.base ** control.max
        _check_in_range(name, value, low, high, "a log slider", tolerance=1e-9 * low)
    elif isinstance(control, (widgets.Checkbox, widgets.ToggleButton)):
        if not isinstance(value, bool):
            raise ValueError(f"control {name!r} is a check box and needs True or False, got {value!r}")
    elif isinstance(control, widgets.SelectMultiple):
        allowed = _option_values(control.options)
        bad = [v for v in value if v not in allowed] if isinstance(value, (list, tuple)) else [value]
        if bad:
            raise ValueError(f"control {name!r} takes a tuple of values from {allowed!r}, got {value!r}")
    elif hasattr(control, "options"):
        allowed = _option_values(control.options)
        if value not in allowed:
            raise ValueError(f"control {name!r} must be one of {allowed!r}, got {value!r}")
    elif hasattr(control, "min") and hasattr(control, "max"):
        is_int = isinstance(control.value, numbers.Integral) or (
            isinstance(control.value, tuple) and isinstance(control.value[0], numbers.Integral))
        parts = value if isinstance(control.value, tuple) and isinstance(value, (list, tuple)) else [value]
        for part in parts:
            what = "an integer control" if is_int else "a number control"
            _check_in_range(name, part, control.min, control.max, what,
                            tolerance=1e-9 * max(1.0, abs(control.max - control.min)))
            if is_int and not float(part).is_integer():
                raise ValueError(f"control {name!r} is an integer control and needs a whole number, got {part!r}")


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------
@dataclass
class AppState:
    """What an :class:`App` last computed; tests assert on it.

    Attributes:
        values: dict control name -> value used by the last update.
        data: what ``compute(**values)`` returned, or None if the last update failed there.
        n_updates: number of updates so far (1 right after creation), failed ones included.
        n_computes: number of times ``compute`` actually ran (cache hits do not count).
        last_update_s: wall-clock seconds the last update took (compute + draw + render).
        error: ``"<ExceptionType> in compute(): <message>"`` (or ``draw()``, or a button
            callback) if the last update raised, else None.
        traceback: the full traceback text of that error, else None.
        png: PNG bytes of the current figure, or None if the last update failed.
    """

    values: dict = field(default_factory=dict)
    data: Any = None
    n_updates: int = 0
    n_computes: int = 0
    last_update_s: float = float("nan")
    error: str | None = None
    traceback: str | None = None
    png: bytes | None = None


class App:
    """Controls + one figure, recomputed when a control changes.

    Args:
        controls: dict name -> ipywidget with a ``value`` (see :func:`slider`,
            :func:`dropdown`, :func:`toggle`). Names must be valid Python identifiers: they
            are the keyword arguments of ``compute``. May be empty.
        compute: ``compute(**values) -> data``; called with every control's current value.
        draw: ``draw(data, values) -> matplotlib.figure.Figure``. The app renders the figure
            to PNG and closes it, so figures never pile up. For updates that must be very
            fast, ``draw`` may instead return PNG ``bytes`` it rendered itself (see
            :class:`course_utils.plots.FastRedraw`).
        title: optional heading shown above the controls.
        layout: ``"vertical"`` (controls above the figure) or ``"horizontal"`` (controls to
            the left of the figure).
        cache: memoize ``compute`` by the tuple of control values (which must then be
            hashable), so moving a slider back to a seen setting only looks the result up.
            Use it to precompute: ``for v in values: app.update(x=v)``.
        buttons: dict label -> ``callback(app)`` (or None). A click calls the callback, then
            :meth:`refresh` (clears the cache and recomputes), e.g. a "resample" button whose
            callback draws a new random seed.
    Raises:
        TypeError: a control is not an ipywidget with a ``value``, or ``compute``/``draw``/a
            callback is not callable, or ``cache=True`` with unhashable values.
        ValueError: a bad control name or layout.

    The app computes and draws its first figure on creation (``state.n_updates == 1``).
    """

    def __init__(self, controls: Mapping[str, widgets.Widget], compute: Callable, draw: Callable, *,
                 title: str | None = None, layout: str = "vertical", cache: bool = False,
                 buttons: Mapping[str, Callable | None] | None = None):
        if not isinstance(controls, Mapping):
            raise TypeError(f"controls must be a dict name -> widget, got {type(controls).__name__}")
        for name, control in controls.items():
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"control names must be Python identifiers (they become keyword "
                                 f"arguments of compute), got {name!r}")
            if not isinstance(control, widgets.Widget) or not control.has_trait("value"):
                raise TypeError(f"control {name!r} must be an ipywidget with a value (e.g. from slider()), "
                                f"got {type(control).__name__}")
        for what, fn in (("compute", compute), ("draw", draw)):
            if not callable(fn):
                raise TypeError(f"{what} must be a function, got {type(fn).__name__}")
        if layout not in ("vertical", "horizontal"):
            raise ValueError(f"layout must be 'vertical' or 'horizontal', got {layout!r}")
        buttons = dict(buttons or {})
        for label, callback in buttons.items():
            if callback is not None and not callable(callback):
                raise TypeError(f"button {label!r} needs a callable callback(app) or None, got {type(callback).__name__}")

        self.controls = dict(controls)
        self.title = title
        self._compute = compute
        self._draw = draw
        self._cache: dict | None = {} if cache else None
        self._suspended = False
        self.state = AppState(values=self.values)
        if cache:
            self._cache_key(self.values)  # fail now, not on the first slider move

        self.output = widgets.Output()
        self.buttons = {label: button(label) for label in buttons}
        for label, callback in buttons.items():
            self.buttons[label].on_click(lambda _btn, callback=callback: self._click(callback))
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self._widget = self._build_layout(layout)
        self.update()

    # ---- public API ------------------------------------------------------------------------
    @property
    def widget(self) -> widgets.Box:
        """The container widget (title, controls, buttons and output area)."""
        return self._widget

    @property
    def values(self) -> dict:
        """The current control values, a new dict name -> value."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **overrides) -> AppState:
        """Set some controls, then recompute and redraw exactly once.

        Args:
            **overrides: control name -> new value. With no arguments, recompute with the
                current values (using the cache, if enabled).
        Returns:
            ``self.state`` (the same object, updated).
        Raises:
            ValueError: an unknown control name (the message lists the valid ones) or a value
                the control cannot take (outside a slider's range, not among a dropdown's
                options, ...). Nothing is changed then. Errors *inside* compute/draw do not
                raise: they go to ``state.error``.
        """
        unknown = [name for name in overrides if name not in self.controls]
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; valid names: {list(self.controls)}")
        for name, value in overrides.items():
            _check_value(name, self.controls[name], value)
        old = self.values
        self._suspended = True
        try:
            for name, value in overrides.items():
                self.controls[name].value = value
        except Exception as exc:  # a trait refused the value: undo, then report
            for name in overrides:
                self.controls[name].value = old[name]
            raise ValueError(f"could not set controls {overrides}: {exc}") from exc
        finally:
            self._suspended = False
        return self._refresh()

    def refresh(self) -> AppState:
        """Clear the cache and recompute and redraw with the current values (e.g. after new
        random data). Returns ``self.state``."""
        self.cache_clear()
        return self._refresh()

    def cache_clear(self) -> None:
        """Forget all cached ``compute`` results (no-op without ``cache=True``)."""
        if self._cache is not None:
            self._cache.clear()

    def static_png(self) -> bytes:
        """PNG bytes of the figure for the current state.

        Raises:
            RuntimeError: the last update failed, so there is no figure (see ``state.error``).
        """
        if self.state.png is None:
            raise RuntimeError(f"no figure: the last update failed with {self.state.error}")
        return self.state.png

    def mimebundle(self) -> dict:
        """The display bundle: widget view (live frontends), PNG (static renderers), text.

        ``{"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
        "model_id": <container model id>}, "image/png": <base64 str>, "text/plain": str}``;
        ``image/png`` is left out when the last update failed.
        """
        bundle = {
            "text/plain": repr(self),
            WIDGET_VIEW_MIMETYPE: {**_WIDGET_VIEW_VERSION, "model_id": self._widget.model_id},
        }
        if self.state.png is not None:
            bundle["image/png"] = base64.b64encode(self.state.png).decode("ascii")
        return bundle

    def show(self) -> None:
        """Display the app (what happens when the app is the last expression of a cell)."""
        display(self.mimebundle(), raw=True)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.mimebundle()  # IPython applies include/exclude itself

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self.state.values.items())
        head = f"{self.title}: " if self.title else ""
        status = f" -- error: {self.state.error}" if self.state.error else ""
        return f"App({head}{values}){status} [interactive: run the notebook to use the controls]"

    # ---- internals -------------------------------------------------------------------------
    def _build_layout(self, layout: str) -> widgets.Box:
        column = list(self.controls.values())
        if self.buttons:
            column.append(widgets.HBox(list(self.buttons.values())))
        controls = widgets.VBox(column)
        if layout == "vertical":
            body = [controls, self.output]
        else:
            body = [widgets.HBox([controls, self.output])]
        if self.title:
            body.insert(0, widgets.HTML(f"<b>{html.escape(self.title)}</b>"))
        box = widgets.VBox(body)
        box.add_class("course-app")  # lets the browser test find every app
        return box

    def _on_change(self, change) -> None:
        if not self._suspended:
            self._refresh()

    def _click(self, callback) -> None:
        try:
            if callback is not None:
                callback(self)
        except Exception as exc:
            self.state.n_updates += 1
            self.state.data = self.state.png = None
            self._record_error(exc, "the button callback")
            self.output.clear_output(wait=True)
            with self.output:
                self._show_result()
            return
        self.refresh()

    def _cache_key(self, values: dict) -> tuple:
        key = tuple(values.values())
        try:
            hash(key)
        except TypeError:
            bad = {n: type(v).__name__ for n, v in values.items() if not _hashable(v)}
            raise TypeError(f"cache=True needs hashable control values, but got {bad}; "
                            f"use cache=False or hashable options (e.g. tuples, not lists)") from None
        return key

    def _run_compute(self, values: dict):
        if self._cache is None:
            self.state.n_computes += 1
            return self._compute(**values)
        key = self._cache_key(values)
        if key not in self._cache:
            self.state.n_computes += 1
            self._cache[key] = self._compute(**values)
        return self._cache[key]

    def _render(self, data, values: dict) -> bytes:
        """Call ``draw``, render its figure to PNG and close every figure it opened."""
        before = set(plt.get_fignums())
        fig = None
        try:
            fig = self._draw(data, values)
            if isinstance(fig, (bytes, bytearray)):
                if bytes(fig[:8]) != PNG_SIGNATURE:
                    raise TypeError("draw() returned bytes that are not a PNG image")
                return bytes(fig)
            if not isinstance(fig, Figure):
                raise TypeError(f"draw() must return a matplotlib Figure (or PNG bytes), got {type(fig).__name__}")
            return render_png(fig)
        finally:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)
            if isinstance(fig, Figure):
                plt.close(fig)

    def _record_error(self, exc: BaseException, where: str) -> None:
        self.state.error = f"{type(exc).__name__} in {where}: {exc}"
        self.state.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def _refresh(self) -> AppState:
        """Recompute and redraw with the current values. compute and draw run inside the output
        area, so what they print (or a progress bar) shows up there, not in the cell."""
        start = time.perf_counter()
        state = self.state
        state.values, state.data, state.png = self.values, None, None
        state.error = state.traceback = None
        state.n_updates += 1
        with self.output:  # entered once: each entry and exit waits twice for the kernel's output thread
            clear_output(wait=True)  # what Output.clear_output does (in ipywidgets 7 and 8), inside the same `with`
            where = "compute()"
            try:
                state.data = self._run_compute(state.values)
                where = "draw()"
                state.png = self._render(state.data, state.values)
            except Exception as exc:  # show it to the student; keep the app alive
                self._record_error(exc, where)
            self._show_result()
        state.last_update_s = time.perf_counter() - start
        return state

    def _show_result(self) -> None:
        """Display the figure, or a message saying what went wrong (call inside the output)."""
        if self.state.error is None:
            display(Image(data=self.state.png, format="png"))
        else:
            values = ", ".join(f"{n}={v!r}" for n, v in self.state.values.items())
            print(f"\u26a0 Could not update the figure for {values or 'these settings'}:\n"
                  f"  {self.state.error}\n"
                  f"Change a control to try again.")


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
