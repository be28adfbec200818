"""Runs *inside* the grading kernel: keeps a student's monkeypatches away from the tests.

The grader (course_instructor.grading.execute) calls, through ``user_expressions`` of empty execute
requests (which IPython evaluates with ``eval``, bypassing input transformers and cell events):

- :func:`snapshot` once, after the instructor's set-up cells and before the first student cell.
  It records (:class:`Snapshot`) every loaded module of the guarded packages (``numpy.*`` with
  its private modules, ``torch.*``, ``course_utils.checks``, ``builtins``, ``math`` ...) with
  its whole ``__dict__``; the classes in :data:`CLASSES` (``torch.Tensor``, ``torch.nn.Module``
  ...) and IPython's shell, transformer-manager, compiler and kernel classes; the code,
  defaults and closure cells of every Python function found in them; the notebook's
  module-valued names; IPython's input/AST transformers and event callbacks; the trace/profile
  hooks and torch's function/dispatch mode stacks. It returns a digest of what it saved.
- :func:`restore` right before each test cell: puts every one of these back -- an added key is
  removed, a changed one reset, a swapped ``__code__`` swapped back -- and reports what it undid
  (the grader flags those for review). Then it lets the test cell run in a namespace of its own
  (:mod:`.namespace`) with torch-function overrides switched off, so tensor subclasses and modes
  run no student code inside the checks.
- :func:`verify` right after each test cell (a separate request, so it runs even when the cell
  raised): if anything recorded changed *while the tests ran*, or a watched operation (trace or
  profile functions, ``gc`` introspection, ``ctypes``, swapping a function's code) happened, the
  test does not count. It restores again and hands the namespace back.

Attribute comparison is by *effective* value: a class key added whose value is what the class
inherits anyway (``setattr(torch.Tensor, "sigmoid", torch.Tensor.sigmoid)``) is no change, and
caches that Python writes itself (``__slotnames__`` from ``copyreg``/pickle/``torch.save``,
lazily created ``__annotations__``, ``__warningregistry__``, submodules bound on import) are not
changes either, nor are the three changes torch makes itself when its compiler loads after the
snapshot (an optimizer's first step; :func:`_compiler_loaded`).

The watched operations are seen by an audit hook (:pep:`578`), which Python cannot remove once
added and which refuses changes to the guard's own functions; each restore leaves a canary in
its record, so a student who clears the record is noticed; restore and verify return the digest
of the saved state, which the grader compares with the snapshot's, so clearing or editing the
snapshot is noticed too.

Limits (documented in course_instructor.grading): student code runs in the same interpreter, so code
written against *this* module's protocol (replacing the kernel's message handlers, or the guard's
functions with fakes that compute the right digest) can still fake a pass; the watched operations
it needs (``gc``, ``ctypes``, trace functions) are flagged for review.
"""
from __future__ import annotations

import importlib
import sys
import threading
import types

OK = "course-guard-ok"
# Packages guarded with all their loaded submodules (a patch in numpy._core.* counts).
PACKAGES = ("numpy", "torch", "course_utils.checks")
MODULES = (
    "builtins", "math", "operator", "numbers", "warnings", "contextlib", "copy", "copyreg", "functools",
    "threading", "types", "abc", "inspect",
    "IPython.core.inputtransformer2", "IPython.core.interactiveshell", "IPython.core.compilerop",
    "ipykernel.ipkernel", "ipykernel.kernelbase", "ipykernel.zmqshell",
)
# Keys Python or IPython write into guarded dicts themselves; never a student's patch.
_CACHES = {"__slotnames__", "__annotations__", "__warningregistry__", "__abstractmethods__", "_abc_impl"}
_VOLATILE = {"_", "__", "___", "_ih", "_oh", "_dh", "In", "Out", "__builtins__",
             "get_ipython", "exit", "quit", "display", "__IPYTHON__", "dreload"}
_CLASS_SKIP = {"__dict__", "__weakref__", "__doc__"}
# Classes whose attributes the checks and tests rely on (besides IPython's, found at snapshot).
# Not every class of torch: torch itself patches some at run time (Optimizer.step's profiling
# hook, RemovableHandle.next_id), and putting those back would break honest code.
CLASSES = ("torch.Tensor", "torch.nn.Module", "torch.nn.Parameter", "torch.nn.parameter.Buffer",
           "torch.autograd.Function", "torch.autograd.function.FunctionCtx", "torch.Generator",
           "numpy.errstate", "contextlib.ContextDecorator", "course_utils.checks.ExerciseError")
# Operations no grading-relevant honest answer needs; seen by the audit hook.
_WATCHED = ("sys.settrace", "sys.setprofile", "sys._current_frames", "gc.get_objects", "gc.get_referrers",
            "gc.get_referents", "ctypes.", "sys.addaudithook", "code.__new__", "function.__new__")
_CODE_ATTRS = ("__code__", "__defaults__", "__kwdefaults__", "__globals__", "__closure__")
# Hook slots of private torch modules that torch's compiler fills when it loads (after the snapshot
# if honest lesson code loads it there: an optimizer's first step does); only compiled graphs read them.
_COMPILER_HOOKS = {("torch._higher_order_ops.invoke_leaf_function", "_leaf_function_module_retriever")}
_MISSING = object()

# The interpreter's hooks, as they were when the guard was imported (before any student code):
# the guard calls these, not whatever ``sys.gettrace`` is by the time it runs.
_SYS = {name: getattr(sys, name) for name in ("settrace", "setprofile", "gettrace", "getprofile", "audit",
                                               "_getframe", "addaudithook", "modules", "meta_path")}
_state: dict = {}
_events: list = []  # (event, detail) seen by the audit hook, appended only by it
_protected: set = set()  # ids of this module's functions: changing their code is refused


_guarded: set = set()  # ids of the functions the snapshot recorded


def _audit(event, args, _events=_events, _protected=_protected, _guarded=_guarded, _watched=_WATCHED,
           _code=_CODE_ATTRS):
    if event == "course.guard":
        _events.append((event, args[0]))
    elif event in ("object.__setattr__", "object.__delattr__"):
        if args and id(args[0]) in _protected:
            raise RuntimeError("the grading guard cannot be modified")
        # namedtuple sets __defaults__ of the __new__ it creates: only code swaps, or any change
        # to a recorded function, are worth a look
        if len(args) > 1 and args[1] in _code and type(args[0]) is types.FunctionType and (
                args[1] == "__code__" or id(args[0]) in _guarded):
            _events.append((event, f"{getattr(args[0], '__qualname__', '?')}.{args[1]}"))
    elif event.startswith(_watched):
        _events.append((event, ""))


sys.addaudithook(_audit)


def _shell():
    try:
        from IPython import get_ipython
        return get_ipython()
    except ImportError:  # pragma: no cover - the kernel is IPython
        return None


def _mutable(cls) -> bool:
    return isinstance(cls, type) and not cls.__flags__ & (1 << 8)  # Py_TPFLAGS_IMMUTABLETYPE


def _functions(value):
    """The Python functions a dict value holds (plain, static/class methods, properties)."""
    tp = type(value)  # not isinstance: that would read a student's (or torch's deprecated) __class__
    if tp is types.FunctionType:
        yield value
    elif issubclass(tp, (staticmethod, classmethod)):
        yield from _functions(value.__func__)
    elif issubclass(tp, property):
        for f in (value.fget, value.fset, value.fdel):
            yield from _functions(f)


def _cells(f) -> tuple:
    out = []
    for cell in f.__closure__ or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:
            out.append(_MISSING)
    return tuple(out)


def _code_of(f) -> tuple:
    return (f.__code__, f.__defaults__, f.__kwdefaults__, _cells(f))


def _guarded_modules() -> dict:
    modules = {}
    for name in MODULES + PACKAGES:
        try:
            modules[name] = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module is simply not guarded
            continue
    for name, module in list(_SYS["modules"].items()):
        if issubclass(type(module), types.ModuleType) and name.startswith(tuple(p + "." for p in PACKAGES)):
            modules[name] = module
    return modules


def _guarded_classes(shell) -> dict:
    classes = {}

    def add(cls):
        for c in getattr(cls, "__mro__", ()):
            if _mutable(c) and c is not object:
                classes.setdefault(id(c), c)

    for dotted in CLASSES:
        module, _, name = dotted.rpartition(".")
        try:
            add(getattr(importlib.import_module(module), name))
        except Exception:  # noqa: BLE001 - not in this version: not guarded
            continue
    if shell is not None:
        for obj in (shell, shell.input_transformer_manager, shell.compile, shell.displayhook,
                    getattr(shell, "kernel", None)):
            if obj is not None:
                add(type(obj))
    return {c: dict(vars(c)) for c in classes.values()}


def _instances(shell) -> dict:
    """IPython objects whose instance attributes must not grow callables (``shell.run_cell = f``)."""
    if shell is None:
        return {}
    objs = [shell, shell.input_transformer_manager, shell.compile, getattr(shell, "kernel", None)]
    return {id(o): (o, set(vars(o))) for o in objs if o is not None}


def _ipython(shell) -> dict:
    if shell is None:
        return {}
    manager = shell.input_transformer_manager
    lists = {
        "input_transformers_post": shell.input_transformers_post,
        "ast_transformers": shell.ast_transformers,
        "input_transformer_manager.cleanup_transforms": manager.cleanup_transforms,
        "input_transformer_manager.line_transforms": manager.line_transforms,
        "input_transformer_manager.token_transformers": manager.token_transformers,
    }
    kernel = getattr(shell, "kernel", None)
    return {
        "lists": {k: (v, list(v)) for k, v in lists.items()},
        "attrs": {"input_transformer_manager": manager, "compile": shell.compile, "events": shell.events,
                  "displayhook": shell.displayhook},
        "events": {k: list(v) for k, v in shell.events.callbacks.items()},
        "handlers": (kernel.shell_handlers, dict(kernel.shell_handlers)) if kernel is not None else None,
    }


def _torch_stacks() -> tuple[int, int]:
    torch = _SYS["modules"].get("torch")
    if torch is None:
        return 0, 0
    return torch._C._len_torch_function_stack(), torch._C._len_torch_dispatch_stack()


def snapshot(namespace: dict) -> str:
    """Record the pristine state (call before any student code has run); returns OK and a digest."""
    shell = _shell()
    modules = _guarded_modules()
    saved_modules = {name: (m, dict(vars(m))) for name, m in modules.items()}
    classes = _guarded_classes(shell)
    functions = {}
    for _, saved in saved_modules.values():
        for value in saved.values():
            for f in _functions(value):
                functions.setdefault(id(f), (f, _code_of(f)))
    for saved in classes.values():
        for value in saved.values():
            for f in _functions(value):
                functions.setdefault(id(f), (f, _code_of(f)))
    bindings = {k: v for k, v in namespace.items() if issubclass(type(v), types.ModuleType) and not k.startswith("_")}
    _protected.update(id(f) for f in list(globals().values()) if type(f) is types.FunctionType)
    _guarded.clear()
    _guarded.update(functions)
    _state.clear()
    _state.update(ns=namespace, modules=saved_modules, classes=classes, functions=functions, bindings=bindings,
                  ipy=_ipython(shell), instances=_instances(shell), trace=sys.gettrace(), profile=sys.getprofile(),
                  stacks=_torch_stacks(), threads=set(threading.enumerate()), canary=None, test=None,
                  torch=_torch_internals())
    _state["digest"] = _digest()
    return f"{OK} {_state['digest']}"


def _digest() -> str:
    """A fingerprint of the saved state (sizes and identities), recomputed on every call."""
    if not _state:
        return "none"
    ids = 0
    for name, (module, saved) in _state["modules"].items():
        ids += id(module) + len(saved) + sum(map(id, saved.values()))
    for cls, saved in _state["classes"].items():
        ids += id(cls) + len(saved) + sum(map(id, saved.values()))
    for f, code in _state["functions"].values():
        ids += id(f) + id(code[0])
    return f"{len(_state['modules'])}.{len(_state['classes'])}.{len(_state['functions'])}.{ids % (1 << 61):x}"


def _inherited(cls, key):
    for base in cls.__mro__[1:]:
        if key in vars(base):
            return vars(base)[key]
    return _MISSING


def _data(value) -> bool:
    """A plain value a library may cache in its own module (a flag, a number, a loaded module)."""
    if issubclass(type(value), types.ModuleType):
        return _SYS["modules"].get(value.__name__) is value
    return value is _MISSING or not callable(value)


def _torch_internals() -> dict:
    """What :func:`_compiler_loaded` compares with, read from torch at the snapshot (torch's
    namespace class for ``torch.ops.<name>`` and the code of its ``_disable_dynamo`` wrapper)."""
    torch = _SYS["modules"].get("torch")
    out = {"namespace": None, "disable_code": None}
    if torch is None:
        return out
    out["namespace"] = getattr(getattr(torch, "_ops", None), "_OpNamespace", None)
    disable = getattr(torch, "_disable_dynamo", None)
    if callable(disable):
        try:
            out["disable_code"] = disable(_digest).__code__  # wraps without calling: no import
        except Exception:  # noqa: BLE001 - another torch: the wrapping is simply not recognised
            pass
    return out


def _compiler_loaded(name: str, key: str, was, now) -> bool:
    """Whether ``<name>.<key>`` went from ``was`` to ``now`` the way torch changes it when its
    compiler (``torch._dynamo``) loads after the snapshot -- honest lesson code does that on an
    optimizer's first step -- so that it is neither flagged nor undone:

    - ``torch.ops.<ns>`` added, an op namespace of torch's own class named ``<ns>``: torch creates
      these on first use (``torch.ops.__getattr__``). The namespaces that existed at the snapshot
      (``aten``, ``prims`` ...) stay compared, so a check's operators cannot be redirected this way;
      a planted namespace reaches only code that names a namespace absent at the snapshot.
    - a function replaced by torch's ``_disable_dynamo`` wrapper (the very code object torch
      uses) around the saved function itself (``torch.manual_seed``): calls go to the same function.
    - a hook slot in :data:`_COMPILER_HOOKS` (``None`` at the snapshot) set to a function of a
      torch module loaded after the snapshot. That provenance is only plausible (a student can make
      such a module); the slot is accepted because only compiled graphs read it, never eager code.
    """
    # Runs no code of the values it looks at: exact types only, instance dicts read with vars(),
    # no getattr that a class's descriptor or a str subclass's __eq__ could answer.
    internals = _state.get("torch") or {}
    if was is _MISSING:
        if name != "torch.ops" or internals.get("namespace") is None or type(now) is not internals["namespace"]:
            return False
        own = vars(now).get("name")
        return type(own) is str and type(key) is str and own == key
    if type(now) is not types.FunctionType:
        return False
    if internals.get("disable_code") is not None and now.__code__ is internals["disable_code"]:
        return dict(zip(now.__code__.co_freevars, _cells(now))).get("fn") is was
    if (name, key) in _COMPILER_HOOKS and was is None:
        module, fname = now.__module__, now.__name__
        if type(module) is not str or type(fname) is not str or not module.startswith("torch."):
            return False
        loaded = _SYS["modules"].get(module)
        return (module not in _state["modules"] and type(loaded) is types.ModuleType
                and vars(loaded).get(fname) is now)
    return False


def _module_changes(fix: bool) -> list[str]:
    changed = []
    for name, (module, saved) in _state["modules"].items():
        if _SYS["modules"].get(name, module) is not module:
            changed.append(f"sys.modules[{name!r}]")
            if fix:
                _SYS["modules"][name] = module
        current = vars(module)
        strict = name in MODULES or name in PACKAGES  # private submodules: callables only
        for key, value in saved.items():
            if key in _VOLATILE or key in _CACHES:
                continue
            now = current.get(key, _MISSING)
            if now is not value and (strict or not (_data(now) and _data(value))) and not _compiler_loaded(
                    name, key, value, now):
                changed.append(f"{name}.{key}")
                if fix:
                    current[key] = value
        for key in set(current) - set(saved):
            if key in _VOLATILE or key in _CACHES:
                continue
            value = current[key]
            if issubclass(type(value), types.ModuleType) and _SYS["modules"].get(f"{name}.{key}") is value:
                continue  # ``import numpy.polynomial`` binds the submodule: not a patch
            if not strict and _data(value) or _compiler_loaded(name, key, _MISSING, value):
                continue
            changed.append(f"{name}.{key} (added)")
            if fix:
                del current[key]
    return changed


def _class_changes(fix: bool) -> list[str]:
    changed = []
    for cls, saved in _state["classes"].items():
        current = dict(vars(cls))
        for key in set(saved) | set(current):
            if key in _CLASS_SKIP or key in _CACHES:
                continue
            now, was = current.get(key, _MISSING), saved.get(key, _MISSING)
            if now is was:
                continue
            if was is _MISSING and now is _inherited(cls, key):
                # setattr(cls, name, getattr(cls, name)) of an inherited method: the same attribute
                if fix:
                    _set(cls, key, _MISSING)
                continue
            changed.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
            if fix:
                _set(cls, key, was)
    return changed


def _set(cls, key, value) -> None:
    try:
        if value is _MISSING:
            delattr(cls, key)
        else:
            setattr(cls, key, value)
    except (AttributeError, TypeError):
        pass


def _function_changes(fix: bool) -> list[str]:
    changed = []
    for f, (code, defaults, kwdefaults, cells) in _state["functions"].values():
        if (f.__code__ is not code or f.__defaults__ is not defaults or f.__kwdefaults__ is not kwdefaults
                or any(a is not b for a, b in zip(_cells(f), cells))):
            changed.append(f"{getattr(f, '__module__', '?')}.{f.__qualname__} (code)")
            if fix:
                f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults
                for cell, value in zip(f.__closure__ or (), cells):
                    if value is _MISSING:
                        try:
                            del cell.cell_contents
                        except ValueError:
                            pass
                    else:
                        cell.cell_contents = value
    return changed


def _hook_changes(fix: bool) -> list[str]:
    changed = []
    for name, value in _SYS.items():
        if vars(sys).get(name) is not value:
            changed.append(f"sys.{name}")
            if fix:
                setattr(sys, name, value)
    if _SYS["gettrace"]() is not _state["trace"] or _SYS["getprofile"]() is not _state["profile"]:
        changed.append("sys.settrace/setprofile")
    if fix:  # unconditionally: a patched sys.gettrace must not hide a trace function
        _SYS["settrace"](_state["trace"])
        _SYS["setprofile"](_state["profile"])
        threading.settrace(None)
        threading.setprofile(None)
    frame = _SYS["_getframe"]()
    while frame is not None:  # a trace function set on a frame (f_trace) of the grader's stack
        if frame.f_trace is not None and frame.f_trace is not _state["trace"]:
            changed.append("a frame's f_trace")
            if fix:
                frame.f_trace = None
        frame = frame.f_back
    stacks = _torch_stacks()
    if stacks != _state["stacks"]:
        changed.append("torch function/dispatch modes")
        if fix:
            torch = _SYS["modules"]["torch"]
            while torch._C._len_torch_function_stack() > _state["stacks"][0]:
                torch._C._pop_torch_function_stack()
            while torch._C._len_torch_dispatch_stack() > _state["stacks"][1]:
                torch._C._pop_torch_dispatch_stack()
    shell, ipy = _shell(), _state["ipy"]
    if shell is not None and ipy:
        for attr, (current, was) in ipy["lists"].items():
            if list(current) != was:
                changed.append(f"IPython {attr}")
                if fix:
                    current[:] = was
        for attr, value in ipy["attrs"].items():
            if getattr(shell, attr, None) is not value:
                changed.append(f"IPython shell.{attr}")
                if fix:
                    setattr(shell, attr, value)
        for attr, (current, was) in ipy["lists"].items():
            owner, _, name = attr.rpartition(".")
            if owner and getattr(shell.input_transformer_manager, name) is not current:
                changed.append(f"IPython {attr} (replaced)")
                if fix:
                    setattr(shell.input_transformer_manager, name, current)
        if shell.input_transformers_cleanup is not ipy["lists"]["input_transformer_manager.cleanup_transforms"][0]:
            changed.append("IPython input_transformers_cleanup (replaced)")
        for event, callbacks in shell.events.callbacks.items():
            if list(callbacks) != ipy["events"].get(event, []):
                changed.append(f"IPython event {event}")
                if fix:
                    callbacks[:] = ipy["events"].get(event, [])
        if ipy["handlers"] is not None:
            handlers, was = ipy["handlers"]
            if handlers != was or any(handlers[k] is not v for k, v in was.items()):
                changed.append("the kernel's message handlers")
                if fix:
                    handlers.clear()
                    handlers.update(was)
    for obj, keys in _state["instances"].values():
        for key in set(vars(obj)) - keys:
            if callable(getattr(type(obj), key, None)) or callable(vars(obj)[key]):
                changed.append(f"{type(obj).__name__}.{key} (instance)")
                if fix:
                    delattr(obj, key)
    return changed


def _changes(fix: bool) -> list[str]:
    return _module_changes(fix) + _class_changes(fix) + _function_changes(fix) + _hook_changes(fix)


def _report(flags: list[str]) -> str:
    shown = sorted(set(flags))
    text = "; ".join(shown[:8]) + (f"; and {len(shown) - 8} more" if len(shown) > 8 else "")
    return f"{OK} {_digest()}" + (f" | {text}" if text else "")


def _watched_since(canary) -> list[str]:
    """Watched operations recorded after the canary (all of them if the canary is gone)."""
    for i in range(len(_events) - 1, -1, -1):
        if _events[i] == ("course.guard", canary):
            return [f"{e} {d}".strip() for e, d in _events[i + 1:] if e != "course.guard"]
    return ["the guard's record was cleared"]


def _students(thread) -> bool:
    """Whether a thread runs the student's code (not a library's, such as tqdm's monitor)."""
    run = [getattr(thread, "_target", None), getattr(thread, "function", None), getattr(type(thread), "run", None)]
    return any(getattr(f, "__module__", None) == "__main__" for f in run)


def restore() -> str:
    """Put back everything :func:`snapshot` recorded and enter the test cell's namespace.

    Returns ``"course-guard-ok <digest>"``, followed by ``" | "`` and what had to be undone or
    was watched since the last test, if anything (the grader flags it for review).
    """
    if not _state:
        return f"{OK} none"
    from . import namespace

    flags = _watched_since(_state["canary"]) if _state["canary"] is not None else []
    flags += _changes(fix=True)  # after reading the record: the fixes themselves call sys.settrace
    for key, module in _state["bindings"].items():
        if _state["ns"].get(key) is not module:
            flags.append(f"the notebook's name {key!r}")
            _state["ns"][key] = module
    flags += [f"a thread started by the answers ({t.name})" for t in set(threading.enumerate()) - _state["threads"]
              if t.is_alive() and _students(t)]
    _state["threads"] = set(threading.enumerate())
    _state["canary"] = canary = object.__repr__(object())
    _SYS["audit"]("course.guard", canary)
    _state["test"] = namespace.enter(_shell(), _state["ns"])
    torch = _SYS["modules"].get("torch")
    if torch is not None and _state.get("no_torch_function") is None:
        # While the tests run, tensor subclasses' __torch_function__ and torch-function modes are off:
        # a student's tensor type cannot answer torch.isfinite(out) or a conversion inside a check.
        _state["no_torch_function"] = torch._C.DisableTorchFunction()
        _state["no_torch_function"].__enter__()
    return _report(flags)


def verify() -> str:
    """Leave the test cell's namespace; raise if the test cell changed anything recorded.

    Raises:
        RuntimeError: naming what changed, or which watched operation ran, during the test.
    """
    if not _state:
        return f"{OK} none"
    from . import namespace

    if _state.get("test") is not None:
        namespace.leave(_shell(), _state["test"])
        _state["test"] = None
    if _state.get("no_torch_function") is not None:
        _state.pop("no_torch_function").__exit__(None, None, None)
    changed = _changes(fix=False)
    changed += [f"the notebook's name {k!r}" for k, m in _state["bindings"].items() if _state["ns"].get(k) is not m]
    changed += _watched_since(_state["canary"])
    if changed:
        _changes(fix=True)
        shown = ", ".join(sorted(set(changed))[:5]) + (" ..." if len(set(changed)) > 5 else "")
        raise RuntimeError(f"the tests do not count: code run by this test cell modified or used {shown}")
    return f"{OK} {_digest()}"
