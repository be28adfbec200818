"""Name the classic mistake behind a wrong numeric answer.

A test knows what the common slips produce (the kernel flipped, the bias forgotten, an average
instead of a maximum, ...). When a student's answer is wrong, :func:`check_known_mistakes` compares it
with each of those outputs and, if one matches, raises an :class:`~course_utils.checks.ExerciseError`
that names the slip -- a much better message than "12 of 40 entries differ"::

    from course_utils.mistakes import check_known_mistakes
    got = conv2d(x, w, b)
    check_known_mistakes(got, F.conv2d(x, w, b), {
        "flip the kernel": F.conv2d(x, w.flip(-1, -2), b),
        "forget the bias": F.conv2d(x, w),
    }, name="conv2d(x, w, b)")
    check_close(got, F.conv2d(x, w, b), "conv2d(x, w, b)")   # the general check comes after

It never passes a wrong answer (it only raises or returns ``None``), so it always goes *before* the
general check. Like every check, it is silent on stderr and does not trust the answer's ``__eq__``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from course_utils.checks import ExerciseError, as_array

__all__ = ["matches", "check_known_mistakes"]


def matches(actual: Any, reference: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``actual`` has the shape of ``reference`` and equal values within tolerance.

    Both are copied into float64 arrays first (see :func:`course_utils.checks.as_array`); an answer
    that is not numeric never matches.
    """
    try:
        got = as_array(actual)
        want = as_array(reference, "the reference")
    except ExerciseError:
        return False
    with np.errstate(all="ignore"):
        return got.shape == want.shape and bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True))


def check_known_mistakes(actual: Any, expected: Any, mistakes: Mapping[str, Any], name: str = "your answer",
                         rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise an error naming the mistake if ``actual`` is wrong and equals what a known mistake gives.

    Args:
        actual: the student's answer.
        expected: the right answer. If ``actual`` matches it, nothing happens.
        mistakes: dict ``"what the student did" -> the output that mistake produces``, or a
            function of no arguments that computes it (only called when needed; if it raises, e.g.
            because the mistake has no output for this input, that mistake is skipped). The text
            completes the sentence "... returns what you get if you <text>".
        name: how to call the answer in the message, e.g. ``"conv2d(x (2, 3, 7, 7), w, stride=2)"``.
        rtol, atol: tolerances of the comparisons.
    Raises:
        ExerciseError: ``actual`` differs from ``expected`` and matches a mistake's output (the first
            one that matches, in the order given; a mistake whose output equals ``expected`` is skipped).
    """
    if matches(actual, expected, rtol, atol):
        return
    for what, output in mistakes.items():
        if callable(output):
            try:
                output = output()
            except Exception:  # this mistake cannot even run on this input
                continue
        if not matches(expected, output, rtol, atol) and matches(actual, output, rtol, atol):
            raise ExerciseError(f"{name} returns what you get if you {what}.")
