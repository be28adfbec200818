"""Checks that exercise tests call, with messages a student can act on.

Every check either passes, returning ``None`` (it prints one short line to **stdout** when
``verbose``), or raises :class:`ExerciseError` (an ``AssertionError``) whose
message says *what* was expected, *what* was got and *where* they differ.

Design rules, because nbgrader grades by running these inside test cells:

- A correct answer writes **nothing to stderr** (nbgrader scores any stderr output as a
  failure): warnings raised while converting or comparing are suppressed, and progress goes to
  stdout.
- Checks never return a value: nbgrader would read a numeric ``execute_result`` as partial
  credit.
- Checks cannot be fooled by an answer object that overrides ``__eq__`` (or ``__bool__``,
  ``__float__`` tricks on containers): the student's answer is first checked to be of a real
  numeric type, then *copied* into a plain float64 NumPy array, and only that copy is compared.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = [
    "ExerciseError",
    "check_type",
    "check_shape",
    "check_dtype",
    "check_close",
    "check_equal",
    "check_true",
    "check_raises",
    "call",
    "as_array",
    "plain",
]

_MAX_SHOWN = 5  # how many differing entries a message lists
_MRO, _DICT = type.__dict__["__mro__"], type.__dict__["__dict__"]


class ExerciseError(AssertionError):
    """A student's answer is wrong; the message explains how."""


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(f"\u2714 {message}")  # stdout only


def _type_name(tp: type) -> str:
    if tp.__module__ == "builtins":
        return tp.__name__
    return f"{tp.__module__}.{tp.__qualname__}"


def _describe_type(value: Any) -> str:
    return _type_name(type(value))


def _torch():
    import sys

    return sys.modules.get("torch")


def _is_tensor(value: Any) -> bool:
    torch = _torch()
    return torch is not None and issubclass(type(value), torch.Tensor)


def plain(value: Any, name: str = "your answer") -> Any:
    """The answer as an object of an exact built-in type, obtained without running its code.

    A check must not call methods of the student's object: a tensor subclass's
    ``__torch_function__``, an ndarray subclass's ``__array__`` or a number's ``__float__`` could
    look at the check's frame and answer with the expected value. So:

    - a ``torch.Tensor`` subclass becomes a plain ``torch.Tensor`` on the same data (with torch
      functions switched off); one with its own ``__torch_dispatch__`` is refused;
    - an ``numpy.ndarray`` subclass is copied into a plain ``ndarray``; a NumPy scalar into a 0-d array;
    - ``int``/``float``/``str`` subclasses give their built-in value; lists and tuples their items,
      each made plain;
    - anything else is returned unchanged only if its type is built in (``bool``, ``None``, ...).

    Raises:
        ExerciseError: an object of any other type (it would need its own code to be read).
    """
    tp = type(value)
    if any(tp is t for t in (int, float, bool, str, type(None), np.ndarray, complex, np.bool_)):
        return value
    torch = _torch()
    if torch is not None and issubclass(tp, torch.Tensor):
        if tp is torch.Tensor:
            return value
        mro = _MRO.__get__(tp)  # the real MRO: a metaclass cannot fake it
        own = [c for c in mro[: mro.index(torch.Tensor)] if "__torch_dispatch__" in _DICT.__get__(c)]
        if own:
            raise ExerciseError(f"{name} is a {_type_name(tp)}, a tensor type with its own __torch_dispatch__; "
                                "return a plain torch.Tensor.")
        with torch._C.DisableTorchFunction():
            return torch.Tensor.as_subclass(value, torch.Tensor)
    if torch is not None and (tp is torch.dtype or tp is torch.Size):
        return value
    if issubclass(tp, np.ndarray):
        return np.array(value, subok=False, copy=True)
    if issubclass(tp, np.generic):
        return np.array(value, subok=False, copy=True)[()]
    if issubclass(tp, bool):
        return bool.__bool__(value) if tp is bool else bool(int.__int__(value))
    if issubclass(tp, int):
        return int.__int__(value)
    if issubclass(tp, float):
        return float.__float__(value)
    if issubclass(tp, str):
        return str.__str__(value)
    if issubclass(tp, list):
        return [plain(v, name) for v in list.copy(value)]
    if issubclass(tp, tuple):
        return tuple(plain(v, name) for v in tuple.__getitem__(value, slice(None)))
    raise ExerciseError(
        f"{name} has type {_type_name(tp)}; expected a number, a NumPy array or a torch tensor."
    )


def as_array(value: Any, name: str = "your answer") -> np.ndarray:
    """Copy a numeric answer into a plain float64 ``numpy.ndarray``, refusing anything else.

    Accepts Python numbers (not ``bool``), NumPy arrays/scalars, torch tensors, and (nested)
    lists/tuples of those. The answer is first made :func:`plain` (no method of the student's
    object runs), then copied into a new base-class array, so ``__eq__``, ``__array__``,
    ``__float__`` or ``__torch_function__`` of the student's object play no part in the comparison.

    Raises:
        ExerciseError: the value is not numeric (``None``, a string, an object that only pretends).
    """
    with _quiet():
        if value is None:
            raise ExerciseError(f"{name} is None. Did you forget to `return` the result?")
        value = plain(value, name)
        if isinstance(value, (bool, np.bool_)):
            raise ExerciseError(f"{name} is a boolean ({value!r}); a number or array was expected.")
        if _is_tensor(value):
            torch = _torch()
            with torch._C.DisableTorchFunction():
                data = torch.Tensor.detach(value).to("cpu")
                if data.is_complex():
                    raise ExerciseError(f"{name} is a complex tensor; real numbers were expected.")
                return np.array(torch.Tensor.tolist(data.to(torch.float64)), dtype=np.float64)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise ExerciseError(f"{name} is an array of dtype {value.dtype}; a numeric array was expected.")
            return np.array(np.ndarray.tolist(value), dtype=np.float64)
        if isinstance(value, (np.floating, np.integer)):  # an exact NumPy scalar, after plain()
            return np.array(value, dtype=np.float64)
        if type(value) is int or type(value) is float:
            return np.array(float(value), dtype=np.float64)
        if isinstance(value, (list, tuple)):
            parts = [as_array(v, name) for v in value]
            shapes = {p.shape for p in parts}
            if len(shapes) > 1:
                raise ExerciseError(f"{name} is a ragged list: its elements have shapes {sorted(shapes)}.")
            return np.array(np.stack(parts) if parts else np.zeros((0,)), dtype=np.float64)
    raise ExerciseError(
        f"{name} has type {_describe_type(value)}; expected a number, a NumPy array or a torch tensor."
    )


def check_type(value: Any, expected: type | tuple[type, ...], name: str = "your answer", verbose: bool = False) -> None:
    """Check ``isinstance(value, expected)``; ``bool`` never counts as ``int``.

    Args:
        expected: a type or tuple of types, e.g. ``torch.Tensor`` or ``(int, float)``.
    """
    types = expected if isinstance(expected, tuple) else (expected,)
    ok = issubclass(type(value), types) and not (type(value) is bool and bool not in types)
    if not ok:
        wanted = " or ".join(_type_name(t) for t in types)
        raise ExerciseError(f"{name} should be a {wanted}, but it is a {_describe_type(value)}.")
    _say(verbose, f"{name} is a {_describe_type(value)}")


def _shape_of(value: Any) -> tuple[int, ...]:
    value = plain(value)
    if _is_tensor(value) or isinstance(value, np.ndarray):
        return tuple(int(s) for s in value.shape)
    return tuple(as_array(value).shape)


def check_shape(value: Any, expected: Sequence[int | None], name: str = "your answer", verbose: bool = False) -> None:
    """Check the shape of an array/tensor. ``None`` in ``expected`` matches any size.

    Example: ``check_shape(out, (batch, 10), "logits")``.
    """
    expected = tuple(expected)
    got = _shape_of(value)
    matches = len(got) == len(expected) and all(e is None or int(e) == g for e, g in zip(expected, got))
    if not matches:
        shown = tuple("any" if e is None else int(e) for e in expected)
        hint = ""
        if len(got) != len(expected):
            hint = f" It has {len(got)} dimension(s) instead of {len(expected)}."
        elif got == tuple(reversed(expected)) and len(got) == 2:
            hint = " It looks transposed."
        raise ExerciseError(f"{name} has shape {got}, expected {shown}.{hint}")
    _say(verbose, f"{name} has shape {got}")


def check_dtype(value: Any, expected: Any, name: str = "your answer", verbose: bool = False) -> None:
    """Check the dtype of a tensor or array, e.g. ``check_dtype(y, torch.int64)``."""
    got = getattr(plain(value, name), "dtype", None) if _is_tensor(value) or isinstance(value, (np.ndarray, np.generic)) else None
    if got is None:
        raise ExerciseError(f"{name} has no dtype (it is a {_describe_type(value)}); an array or tensor was expected.")
    if got != expected:
        raise ExerciseError(f"{name} has dtype {got}, expected {expected}.")
    _say(verbose, f"{name} has dtype {got}")


def _format_index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else "(scalar)"


def check_close(
    actual: Any,
    expected: Any,
    name: str = "your answer",
    rtol: float = 1e-5,
    atol: float = 1e-8,
    inputs: Any = None,
    verbose: bool = True,
) -> None:
    """Check that a numeric answer matches the expected value within tolerance.

    Compares shape first, then values (``|a - e| <= atol + rtol * |e|`` element-wise; NaN
    matches only NaN, infinities must match in sign). The message names the first differing
    positions, the values there, and -- if given -- the corresponding ``inputs``.

    Args:
        actual: the student's answer (number, array, tensor, nested list).
        expected: the reference value (same kinds).
        name: how to call the answer in messages, e.g. ``"sigmoid(x)"``.
        rtol, atol: relative and absolute tolerance.
        inputs: optional array of the inputs, same leading shape, shown next to wrong entries.
        verbose: print one line to stdout when the check passes.
    """
    got = as_array(actual, name)
    want = as_array(expected, "the expected value")
    if got.shape != want.shape:
        hint = ""
        if abs(got.ndim - want.ndim) == 1:
            hint = " (one dimension too many or too few: check keepdim / a reduction axis)"
        elif got.size == want.size:
            hint = " (same number of entries: check for a reshape or transpose)"
        raise ExerciseError(f"{name} has shape {got.shape}, expected {want.shape}{hint}.")
    with _quiet():
        both_nan = np.isnan(got) & np.isnan(want)
        same_inf = np.isinf(want) & (got == want)
        close = np.abs(got - want) <= atol + rtol * np.abs(want)
        ok = both_nan | same_inf | (close & ~np.isnan(got))
    if not bool(np.all(ok)):
        bad = np.argwhere(~ok)
        count = len(bad)
        lines = []
        in_arr = None
        if inputs is not None:
            try:
                in_arr = as_array(inputs, "inputs")
            except ExerciseError:
                in_arr = None
        for idx in bad[:_MAX_SHOWN]:
            index = tuple(int(i) for i in idx)
            where = f"at {_format_index(index)}"
            if in_arr is not None and in_arr.shape[: len(index)] == want.shape[: len(index)] and in_arr.ndim == want.ndim:
                where += f" (input {in_arr[index]:.6g})"
            lines.append(f"  {where}: expected {want[index]:.6g}, got {got[index]:.6g}")
        more = f"\n  ... and {count - _MAX_SHOWN} more" if count > _MAX_SHOWN else ""
        if got.ndim == 0:
            raise ExerciseError(f"{name} is {float(got):.6g}, expected {float(want):.6g} (tolerance {atol:g} + {rtol:g}*|expected|).")
        with _quiet():
            finite = np.isfinite(got) & np.isfinite(want)
            worst = float(np.max(np.abs(got - want)[finite])) if finite.any() else float("nan")
        extra = ""
        if np.isnan(got).any() and not np.isnan(want).any():
            extra = " Your answer contains NaN: look for 0/0, log(0) or an overflow such as exp of a large number."
        elif np.isinf(got).any() and not np.isinf(want).any():
            extra = " Your answer contains inf: look for an overflow such as exp of a large number."
        raise ExerciseError(
            f"{name}: {count} of {want.size} entries differ from the expected values "
            f"(largest difference {worst:.3g}).{extra}\n" + "\n".join(lines) + more
        )
    _say(verbose, f"{name} matches the expected values")


def check_equal(actual: Any, expected: Any, name: str = "your answer", verbose: bool = True) -> None:
    """Check exact equality of an integer, string, bool or tuple of those.

    The comparison is made on a *built-in copy* of the answer (``int``, ``str``, ``bool``,
    ``tuple``), never by calling the answer's own ``__eq__``.
    """

    def builtin(v: Any, where: str) -> Any:
        v = plain(v, where)
        if isinstance(v, bool) or isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, (int, np.integer)):
            return int.__int__(int(v)) if isinstance(v, np.integer) else int.__int__(v)
        if isinstance(v, str):
            return str.__str__(v)
        if isinstance(v, (tuple, list)):
            return tuple(builtin(x, where) for x in v)
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return int(float(v))
        if _is_tensor(v) and v.numel() == 1 and not v.is_floating_point():
            return int(v.item())
        raise ExerciseError(f"{where} has type {_describe_type(v)}; expected an int, str, bool or tuple of those.")

    got = builtin(actual, name)
    want = builtin(expected, "the expected value")
    if type(got) is not type(want) or got != want:
        raise ExerciseError(f"{name} is {got!r}, expected {want!r}.")
    _say(verbose, f"{name} is {got!r}")


def check_true(condition: Any, message: str, verbose: bool = False, success: str | None = None) -> None:
    """Raise :class:`ExerciseError` with ``message`` unless ``condition`` is a real ``True``.

    ``condition`` must be a built-in ``bool`` or a NumPy/torch boolean scalar; an object whose
    ``__bool__`` is always true does not pass.
    """
    try:
        condition = plain(condition, "the condition")
    except ExerciseError:
        condition = None
    if _is_tensor(condition):
        passed = condition.numel() == 1 and bool(condition.item()) is True
    elif isinstance(condition, (bool, np.bool_)):
        passed = bool(condition) is True
    else:
        passed = False
    if not passed:
        raise ExerciseError(message)
    if success:
        _say(True, success)
    elif verbose:
        _say(True, "check passed")


def check_raises(fn: Callable[..., Any], args: Iterable[Any] = (), exception: type[BaseException] = ValueError, name: str | None = None, verbose: bool = True) -> None:
    """Check that ``fn(*args)`` raises ``exception`` (e.g. ``ValueError`` on an invalid input)."""
    label = name or f"{getattr(fn, '__name__', 'your function')}{tuple(args)!r}"
    try:
        with _quiet():
            fn(*args)
    except NotImplementedError:
        raise ExerciseError(f"{getattr(fn, '__name__', 'your function')} is not implemented yet.") from None
    except exception:
        _say(verbose, f"{label} raises {exception.__name__}")
        return
    except Exception as err:  # a different exception
        raise ExerciseError(f"{label} raised {type(err).__name__}: {err}; expected {exception.__name__}.") from None
    raise ExerciseError(f"{label} returned normally; it should raise {exception.__name__}.")


def call(fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call a student's function, turning a crash into a message that says where.

    ``NotImplementedError`` (the nbgrader stub) becomes "not implemented yet"; any other
    exception is reported with its type and message and the call's arguments' shapes.
    Warnings raised inside are silenced so that a correct answer writes nothing to stderr.
    """
    label = name or getattr(fn, "__name__", "your function")
    try:
        with _quiet():
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseError(f"{label} is not implemented yet: replace `raise NotImplementedError()` with your code.") from None
    except ExerciseError:
        raise
    except Exception as err:
        def describe(a: Any) -> str:
            shape = getattr(a, "shape", None)
            return f"{type(a).__name__}{tuple(shape)}" if shape is not None else repr(a)[:40]

        shown = ", ".join([describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()])
        raise ExerciseError(f"{label}({shown}) raised {type(err).__name__}: {err}") from err
