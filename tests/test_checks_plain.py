"""The checks read a student's answer without running any of its code (issue 14, forgery c).

An answer object could otherwise watch the check from inside (``sys._getframe``) and hand back
the expected value when the check converts it. Each answer below is wrong; each check must fail.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from course_utils import checks

EXPECTED = [0.0, 0.0, 0.5]


def _expected_from_the_check():
    frame = sys._getframe(1)
    while frame is not None and "expected" not in frame.f_locals:
        frame = frame.f_back
    return checks.as_array(frame.f_locals["expected"]) if frame is not None else None


class FrameReader(torch.Tensor):
    """Answers every torch function called on it with the value the check expects."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        want = _expected_from_the_check()
        with torch._C.DisableTorchFunctionSubclass():
            if want is not None and getattr(func, "__name__", "") in ("detach", "tolist", "to"):
                return torch.as_tensor(want) if func.__name__ != "tolist" else want.tolist()
            return func(*args, **(kwargs or {}))


class ArrayReader(np.ndarray):
    def __array__(self, *args, **kwargs):
        return _expected_from_the_check()

    def tolist(self):
        return _expected_from_the_check().tolist()

    @property
    def dtype(self):
        return np.dtype("float32")


class ListReader(list):
    def __iter__(self):
        return iter(EXPECTED)


class PretendsToBeATensor:
    __class__ = property(lambda self: torch.Tensor)


WRONG = [-1.0, -2.0, 3.0]


@pytest.mark.parametrize("answer", [
    torch.tensor(WRONG).as_subclass(FrameReader),
    ListReader([-1.0, -2.0, 3.0]),
], ids=["torch_function", "list-iter"])
def test_check_close_compares_the_real_values(answer):
    with pytest.raises(checks.ExerciseError, match="differ"):
        checks.check_close(answer, EXPECTED, verbose=False)


def test_dtype_is_read_from_the_data_not_a_property():
    with pytest.raises(checks.ExerciseError, match="float64"):
        checks.check_dtype(np.array(WRONG).view(ArrayReader), np.dtype("float32"))


def test_a_fake_class_attribute_is_not_a_tensor():
    with pytest.raises(checks.ExerciseError, match="should be a torch.Tensor"):
        checks.check_type(PretendsToBeATensor(), torch.Tensor)


def test_torch_dispatch_subclass_is_refused():
    class Dispatch(torch.Tensor):
        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with pytest.raises(checks.ExerciseError, match="__torch_dispatch__"):
        checks.check_close(torch.tensor(EXPECTED).as_subclass(Dispatch), EXPECTED, verbose=False)


def test_honest_subclasses_still_pass():
    """nn.Parameter and plain subclasses that add nothing are read as their data (a regression
    guard for the conversion above: it passes on main too)."""
    checks.check_close(torch.nn.Parameter(torch.tensor(EXPECTED)), EXPECTED, verbose=False)
    checks.check_close(np.array(EXPECTED).view(np.ndarray), EXPECTED, verbose=False)
    checks.check_equal(torch.Size([2, 3]), (2, 3), verbose=False)
    checks.check_true(torch.tensor(True), "a tensor True passes")
