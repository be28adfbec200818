"""Unit tests for course_utils.mistakes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.checks import ExerciseError
from course_utils.mistakes import check_known_mistakes, matches


def test_matches_shape_values_and_non_numeric():
    assert matches(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-12])
    assert not matches(torch.tensor([1.0, 2.0]), [1.0, 2.1])
    assert not matches(np.zeros((2, 3)), np.zeros((3, 2)))
    assert not matches(None, [1.0]) and not matches("a", [1.0])


class Liar(float):
    def __eq__(self, other):
        return True


def test_check_known_mistakes(capsys):
    right, flipped, no_bias = torch.tensor([1.0, 2.0]), torch.tensor([2.0, 1.0]), torch.tensor([0.0, 1.0])
    mistakes = {"flip the kernel": flipped, "forget the bias": no_bias, "do nothing": right}
    check_known_mistakes(right.clone(), right, mistakes, "f(x)")  # right answer: silent
    with pytest.raises(ExerciseError, match=r"f\(x\) returns what you get if you flip the kernel\."):
        check_known_mistakes(flipped, right, mistakes, "f(x)")
    with pytest.raises(ExerciseError, match="forget the bias"):
        check_known_mistakes(no_bias.numpy(), right, mistakes, "f(x)")
    check_known_mistakes(torch.tensor([5.0, 5.0]), right, mistakes)  # wrong, but no known mistake: left to check_close
    check_known_mistakes(Liar(3.0), 1.0, {"add two": 3.5})  # the fake __eq__ plays no part
    with pytest.raises(ExerciseError):
        check_known_mistakes(Liar(3.0), 1.0, {"add two": 3.0})
    def impossible():
        raise RuntimeError("kernel larger than the input")
    with pytest.raises(ExerciseError, match="forget the bias"):
        check_known_mistakes(no_bias, right, {"pad once": impossible, "forget the bias": lambda: no_bias})
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
