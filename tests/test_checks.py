"""course_utils.checks: right answers pass quietly, wrong ones get clear messages, fakes fail."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from course_utils import checks
from course_utils.checks import ExerciseError


class AlwaysEqual:
    """An answer object that claims to equal everything."""

    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

    def __float__(self):
        return 0.0


class FakeTensor(torch.Tensor):
    def __eq__(self, other):  # noqa: D105
        return torch.ones((), dtype=torch.bool)


class SneakyFloat(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return 0.0

    def __abs__(self):
        return 0.0


def test_close_passes_for_equivalent_types(capsys):
    x = torch.linspace(-3, 3, 7)
    checks.check_close(torch.relu(x), np.maximum(x.numpy(), 0), "relu(x)")
    checks.check_close([0.0, 1.0], torch.tensor([0.0, 1.0]), "pair")
    checks.check_close(np.float32(0.5), 0.5, "half")
    out = capsys.readouterr()
    assert out.err == ""
    assert "relu(x) matches" in out.out


def test_close_reports_where_values_differ():
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
    with pytest.raises(ExerciseError) as err:
        checks.check_close(x.abs(), torch.relu(x), "relu(x)", inputs=x)
    msg = str(err.value)
    assert "2 of 5 entries differ" in msg
    assert "at [0] (input -2): expected 0, got 2" in msg


def test_close_reports_shape_mismatch_with_hint():
    with pytest.raises(ExerciseError, match=r"shape \(3, 2\), expected \(2, 3\).*reshape or transpose"):
        checks.check_close(torch.zeros(3, 2), torch.zeros(2, 3))
    with pytest.raises(ExerciseError, match="keepdim"):
        checks.check_close(torch.zeros(3, 1), torch.zeros(3))


def test_close_flags_nan_and_overflow():
    with pytest.raises(ExerciseError, match="NaN"):
        checks.check_close(torch.tensor([float("nan"), 1.0]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ExerciseError, match="overflow"):
        checks.check_close(torch.tensor([float("inf")]), torch.tensor([1.0]))
    checks.check_close(torch.tensor([float("nan"), float("-inf")]), [float("nan"), float("-inf")], verbose=False)


@pytest.mark.parametrize("fake", [AlwaysEqual(), None, "0.5", True, {"a": 1}])
def test_fakes_and_non_numbers_fail(fake):
    with pytest.raises(ExerciseError):
        checks.check_close(fake, 0.5)


def test_overridden_eq_is_never_trusted():
    fake = torch.zeros(3).as_subclass(FakeTensor)
    with pytest.raises(ExerciseError):
        checks.check_close(fake, torch.ones(3))
    with pytest.raises(ExerciseError):
        checks.check_close(SneakyFloat(0.1), 0.5)
    with pytest.raises(ExerciseError):
        checks.check_equal(SneakyFloat(1.0), 2)
    with pytest.raises(ExerciseError):
        checks.check_true(AlwaysEqual(), "must be a real bool")


def test_none_answer_mentions_return():
    with pytest.raises(ExerciseError, match="return"):
        checks.check_close(None, 1.0, "relu(x)")


def test_check_shape_and_dtype():
    checks.check_shape(torch.zeros(4, 10), (None, 10), "logits")
    with pytest.raises(ExerciseError, match=r"shape \(10, 4\), expected \(4, 10\). It looks transposed"):
        checks.check_shape(torch.zeros(10, 4), (4, 10), "logits")
    with pytest.raises(ExerciseError, match="dimension"):
        checks.check_shape(torch.zeros(4), (4, 1))
    checks.check_dtype(torch.zeros(2), torch.float32)
    with pytest.raises(ExerciseError, match="dtype torch.bool, expected torch.float32"):
        checks.check_dtype(torch.zeros(2) > 0, torch.float32, "relu_grad(x)")


def test_check_type_excludes_bool():
    checks.check_type(3, int)
    with pytest.raises(ExerciseError, match="should be a int"):
        checks.check_type(True, int)
    with pytest.raises(ExerciseError, match="torch.Tensor"):
        checks.check_type(np.zeros(2), torch.Tensor, "out")


def test_check_equal_on_plain_copies():
    checks.check_equal((1, 16, 28), (1, 16, 28), verbose=False)
    checks.check_equal(np.int64(5), 5, verbose=False)
    with pytest.raises(ExerciseError, match="is 4, expected 5"):
        checks.check_equal(4, 5)
    with pytest.raises(ExerciseError):
        checks.check_equal(True, 1)


def test_check_raises():
    def needs_positive(x):
        if x <= 0:
            raise ValueError("x must be positive")
        return x

    checks.check_raises(needs_positive, (-1,), ValueError, verbose=False)
    with pytest.raises(ExerciseError, match="returned normally"):
        checks.check_raises(needs_positive, (1,), ValueError)
    with pytest.raises(ExerciseError, match="raised TypeError"):
        checks.check_raises(needs_positive, ("a",), ValueError)


def test_call_explains_stub_and_crashes():
    def stub(x):
        raise NotImplementedError()

    def crash(x):
        return x @ x

    with pytest.raises(ExerciseError, match="not implemented yet"):
        checks.call(stub, torch.zeros(2))
    with pytest.raises(ExerciseError, match=r"crash\(Tensor\(2, 3\)\) raised RuntimeError"):
        checks.call(crash, torch.zeros(2, 3))


def test_call_silences_warnings_of_correct_answers(capsys):
    def noisy(x):
        warnings.warn("deprecated thing", UserWarning)
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any escaping warning would fail the test
        assert checks.call(noisy, 1.0) == 1.0
    assert capsys.readouterr().err == ""


def test_checks_return_none():
    assert checks.check_close(1.0, 1.0, verbose=False) is None
    assert checks.check_shape(torch.zeros(1), (1,)) is None
