"""Runs *inside* the grading kernel: keeps a student's monkeypatches away from the tests.

The grader (course_instructor.grading.execute) calls, through ``user_expressions`` of an execute
request (which IPython evaluates with ``eval``, bypassing input transformers):

- :func:`snapshot` once, after the instructor's set-up cells and before the first student cell:
  it records the attributes of ``builtins``, ``math``, ``operator``, ``numpy`` (and
  ``numpy.linalg``/``numpy.testing``), ``torch`` (``torch.nn.functional``, ``torch.testing`` and
  the ``torch.Tensor`` class), ``course_utils.checks``, the module-valued names of the notebook's
  namespace (``checks``, ``np``, ``torch`` ...), ``sys.modules`` entries for all of these, and
  IPython's input/AST transformers, event callbacks and the trace/profile hooks.
- :func:`restore` right before each test cell: puts every one of these back (a student who
  wrote ``checks.check_close = lambda *a, **k: None``, ``np.all = ...``, ``builtins.bool = ...``,
  ``torch.Tensor.tolist = ...``, ``checks = Fake()`` or registered an input transformer loses it).
- :func:`verify` right after each test cell (in the same request): if anything recorded changed
  *while the tests ran* (a student function that patches ``np.all`` when it is called), the test
  cell fails with a message naming what changed.

Limits (documented in the README): this protects against patching the shared modules, which is
what a student does when "fixing" a failing check. It is not a security boundary against code
written to attack this module: student code runs in the same interpreter and can reach anything
(``gc.get_objects()``, replacing the kernel's message handlers, threads that patch and un-patch).
The sandbox around the kernel (course_instructor.grading.sandbox) is the security boundary; answer
cells using such tools are flagged for review by :func:`course_instructor.grading.repair.suspicious`.
"""
from __future__ import annotations

import importlib
import sys
import threading

OK = "course-guard-ok"
MODULES = (
    "builtins", "math", "operator", "numbers", "warnings", "contextlib", "copy",
    "numpy", "numpy.linalg", "numpy.testing", "numpy.random",
    "torch", "torch.nn.functional", "torch.testing", "torch.autograd",
    "course_utils.checks",
)
CLASSES = (("torch", "Tensor"), ("torch.nn", "Module"))
# IPython keeps the last results in builtins-like names; they change legitimately.
_VOLATILE = {"_", "__", "___", "_ih", "_oh", "_dh", "In", "Out", "__builtins__"}

_state: dict = {}


def _shell():
    try:
        from IPython import get_ipython
        return get_ipython()
    except ImportError:  # pragma: no cover - the kernel is IPython
        return None


def snapshot(namespace: dict) -> str:
    """Record the pristine state (call before any student code has run)."""
    modules = {}
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module is simply not guarded
            continue
        modules[name] = (module, dict(vars(module)))
    classes = {}
    for mod_name, cls_name in CLASSES:
        try:
            cls = getattr(importlib.import_module(mod_name), cls_name)
        except Exception:  # noqa: BLE001
            continue
        classes[f"{mod_name}.{cls_name}"] = (cls, dict(vars(cls)))
    bindings = {k: v for k, v in namespace.items() if type(v).__name__ == "module" and not k.startswith("_")}
    shell = _shell()
    ipy = {}
    if shell is not None:
        ipy = {
            "input_transformers_cleanup": list(shell.input_transformers_cleanup),
            "input_transformers_post": list(shell.input_transformers_post),
            "ast_transformers": list(shell.ast_transformers),
            "events": {k: list(v) for k, v in shell.events.callbacks.items()},
            "instance": set(vars(shell)),
        }
    _state.update(ns=namespace, modules=modules, classes=classes, bindings=bindings, ipy=ipy,
                  trace=sys.gettrace(), profile=sys.getprofile(), sys_modules={n: m for n, (m, _) in modules.items()})
    return OK


def _module_changes(fix: bool) -> list[str]:
    changed = []
    for name, (module, saved) in _state.get("modules", {}).items():
        if sys.modules.get(name) is not module:
            changed.append(f"sys.modules[{name!r}]")
            if fix:
                sys.modules[name] = module
        current = vars(module)
        for key, value in saved.items():
            if key in _VOLATILE:
                continue
            if current.get(key, _state) is not value:
                changed.append(f"{name}.{key}")
                if fix:
                    current[key] = value
    for name, (cls, saved) in _state.get("classes", {}).items():
        current = dict(vars(cls))
        for key in set(saved) | set(current):
            if key in ("__dict__", "__weakref__", "__doc__"):
                continue
            if current.get(key, _state) is not saved.get(key, _state):
                changed.append(f"{name}.{key}")
                if fix:
                    try:
                        if key in saved:
                            setattr(cls, key, saved[key])
                        else:
                            delattr(cls, key)
                    except (AttributeError, TypeError):
                        pass
    return changed


def _hook_changes(fix: bool) -> list[str]:
    changed = []
    if sys.gettrace() is not _state.get("trace") or sys.getprofile() is not _state.get("profile"):
        changed.append("sys.settrace/setprofile")
        if fix:
            sys.settrace(_state.get("trace"))
            sys.setprofile(_state.get("profile"))
            threading.settrace(None)
            threading.setprofile(None)
    shell, ipy = _shell(), _state.get("ipy")
    if shell is not None and ipy:
        for attr in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
            current = getattr(shell, attr)
            if list(current) != ipy[attr]:
                changed.append(f"IPython {attr}")
                if fix:
                    current[:] = ipy[attr]
        for event, callbacks in shell.events.callbacks.items():
            if list(callbacks) != ipy["events"].get(event, []):
                changed.append(f"IPython event {event}")
                if fix:
                    callbacks[:] = ipy["events"].get(event, [])
        for key in set(vars(shell)) - ipy["instance"]:
            if callable(getattr(type(shell), key, None)):
                changed.append(f"IPython shell.{key}")
                if fix:
                    delattr(shell, key)
    return changed


def restore() -> str:
    """Put back everything :func:`snapshot` recorded, and rebind the notebook's module names."""
    if not _state:
        return OK
    namespace = _state["ns"]
    _module_changes(fix=True)
    _hook_changes(fix=True)
    for key, module in _state["bindings"].items():
        namespace[key] = module
    return OK


def verify() -> str:
    """Raise if a recorded module, class, binding or hook changed since the last :func:`restore`."""
    if not _state:
        return OK
    namespace = _state["ns"]
    changed = _module_changes(fix=False) + _hook_changes(fix=False)
    changed += [k for k, m in _state["bindings"].items() if namespace.get(k) is not m]
    if changed:
        shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
        restore()
        raise RuntimeError(f"the tests do not count: code run by this test cell modified {shown}")
    return OK
