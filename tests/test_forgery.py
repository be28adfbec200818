"""course-grade against forged answers and honest answers that used to lose points (issue 14, part B).

Each forgery pairs a *wrong* ``relu`` with one way of faking the checks; each used to score full
marks (most without a "for review" note). Graded through ``course-grade``
(:func:`course_instructor.grading.cli.grade_assignment`, sandboxed, 2 workers) in one run, then each
case is its own test: the forged test cell scores 0 and, where the guard saw the tampering, the
student's notes say "for review". The honest answers must keep every point.

The forgeries avoid the words the static scan of answer cells looks for (``get_ipython``,
``__code__``, ``settrace`` ...): they test the guard, not the scan.
Measured on the shared 2-core machine: about 3 minutes for the whole file.
"""
from __future__ import annotations

import os

import nbformat
import pytest

from course_instructor.grading import cli, sandbox
from hostile_corpus import Case, build
from roundtrip_helpers import graded_class, make_course

ASSIGNMENT = "00_welcome"
FULL = {"relu_tests": 2.0, "relu_grad_tests": 2.0}
NO_RELU = {"relu_tests": 0.0, "relu_grad_tests": 2.0}
ZERO = {"relu_tests": 0.0, "relu_grad_tests": 0.0}
WRONG = "\n\n\ndef relu(x):\n    return x.clone()  # wrong: negative entries kept\n"
REVIEW = "for review"

FORGERIES = {
    # a. a key added to a checked module's dict: shadows the builtin `bool` inside check_close
    "a-new-module-key": (NO_RELU, REVIEW, "vars(checks)['bool'] = lambda value: True" + WRONG),
    # b. a patch inside NumPy's private modules: np.all always true
    "b-numpy-private-module": (NO_RELU, REVIEW, (
        "import numpy._core.fromnumeric as _fn\n\n"
        "_fn._wrapreduction_any_all = lambda *args, **kwargs: np.True_" + WRONG)),
    # c. a tensor subclass answering the check's conversion with the expected value from its frame
    "c-torch-function-subclass": (NO_RELU, None, (
        "import sys as _sys\n\n\nclass Sneaky(torch.Tensor):\n    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        frame = _sys._getframe(1)\n"
        "        while frame is not None and 'expected' not in frame.f_locals:\n"
        "            frame = frame.f_back\n"
        "        with torch._C.DisableTorchFunctionSubclass():\n"
        "            if frame is not None and getattr(func, '__name__', '') == 'detach':\n"
        "                return torch.as_tensor(checks.as_array(frame.f_locals['expected']))\n"
        "            return func(*args, **(kwargs or {}))\n\n\n"
        "def relu(x):\n    return x.clone().as_subclass(Sneaky)  # wrong values\n")),
    # d. a trace function that jumps over check_close's failure branch, hidden from sys.gettrace
    "d-trace-jump": (NO_RELU, REVIEW, (
        "import inspect\nimport sys as _sys\n\n"
        "_lines, _first = inspect.getsourcelines(checks.check_close)\n"
        "_if = _first + next(i for i, l in enumerate(_lines) if 'if not bool(np.all(ok))' in l)\n"
        "_end = _first + max(i for i, l in enumerate(_lines) if l.strip().startswith('_say('))\n\n\n"
        "def _jump(frame, event, arg):\n"
        "    if frame.f_code.co_name != 'check_close':\n        return None\n"
        "    if event == 'line' and frame.f_lineno == _if:\n        frame.f_lineno = _end\n"
        "    return _jump\n\n\n"
        "_set = getattr(_sys, 'set' + 'trace')\n_sys.gettrace = lambda: None\n\n\n"
        "def relu(x):\n    _set(_jump)\n    return x.clone()  # wrong\n")),
    # e. clearing the guard's saved state, then patching the checks
    # once the saved state is gone nothing after it can be trusted: every later test scores 0
    "e-clear-guard-state": (ZERO, REVIEW, (
        "from course_instructor.grading import guard as _g\n\n_g._state.clear()\n"
        "vars(checks)['check_close'] = lambda *args, **kwargs: None" + WRONG)),
    # f. the shell's cell transformer patched on its class: every later cell becomes `pass` (the
    #    guard puts the class back before the first test, so relu_grad's answer runs as written)
    "f-shell-class-transform": (NO_RELU, REVIEW, (
        "from IPython.core.interactiveshell import InteractiveShell\n\n"
        "InteractiveShell.transform_cell = lambda self, raw_cell: 'pass\\n'" + WRONG)),
    # g. a check's code swapped for one that does nothing
    "g-swap-check-code": (NO_RELU, REVIEW, (
        "_cc = checks.check_close\nsetattr(_cc, '__co' + 'de__', (lambda *args, **kwargs: None).__co" "de__)" + WRONG)),
    # h. an input line transformer on a blank notebook: test cells that call checks become `pass`
    "h-line-transformer-blank": (ZERO, REVIEW, (
        "import IPython\n\n_shell = getattr(IPython, 'get_' + 'ipython')()\n"
        "_shell.input_transformer_manager.line_transforms.append(\n"
        "    lambda lines: ['pass\\n'] if any('checks.' in line for line in lines) else lines)\n")),
}

HONEST = {  # name -> answer; none of them is flagged for review, except by the static scan of answers
    # torch.save caches __slotnames__ on torch.Tensor while the test runs
    "honest-torch-save": (
        "import io\n\n\ndef relu(x):\n    buffer = io.BytesIO()\n    torch.save(torch.clamp(x, min=0.0), buffer)\n"
        "    buffer.seek(0)\n    return torch.load(buffer)\n"),
    # switches an inherited tensor method off and restores it with setattr, like 01's sigmoid test
    "honest-setattr-inherited": (
        "def relu(x):\n    original = torch.Tensor.relu\n    try:\n"
        "        setattr(torch.Tensor, 'relu', None)  # make sure my code does not call it\n"
        "        return torch.clamp(x, min=0.0)\n    finally:\n        setattr(torch.Tensor, 'relu', original)\n"),
    # a student global named like a hidden test's module-level variable (`g`, `x`)
    "honest-global-named-like-test": (
        "g = 0.0  # the threshold\n\n\ndef relu(x):\n    return torch.clamp(x, min=g)\n"),
}

SANDBOX_OK, SANDBOX_WHY = sandbox.available()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not SANDBOX_OK and not os.environ.get("CI"), reason=f"sandbox tests skipped: {SANDBOX_WHY}")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not SANDBOX_OK:
        pytest.fail(f"CI must run the sandbox tests: {SANDBOX_WHY}")
    root = make_course(tmp_path_factory.mktemp("forgery"), ASSIGNMENT)
    source = root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    release = root / "notebooks" / ASSIGNMENT / source.name
    cases = [Case(name, "graded", scores, answers={"relu_answer": code})
             for name, (scores, _, code) in FORGERIES.items()]
    cases += [Case(name, "graded", FULL, answers={"relu_answer": code}) for name, code in HONEST.items()]
    blank = {"h-line-transformer-blank"}  # on the release: no answer at all besides the forgery
    for case in cases:
        if case.name in blank:
            case.edit = _blank_but_relu
        build(case, root, ASSIGNMENT, source, release)
    results = cli.grade_assignment(ASSIGNMENT, root=root, workers=2, cell_timeout=60, notebook_timeout=300,
                                   limits=sandbox.Limits(memory_mb=3072, cpu_s=300, nproc=192), progress=False)
    return {r["student"]: r for r in results}


def _blank_but_relu(nb, release):
    """The release (every answer a stub) with only the relu answer cell from ``nb``."""
    out = nbformat.from_dict(release)
    forged = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    for cell in out.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "relu_answer":
            cell.source = forged["relu_answer"]
    return out


def _scores(result):
    return {q["grade_id"]: q["points"] for nb in result["notebooks"].values() for q in nb["questions"]}


def _explain(result):
    return f"{_scores(result)}; notes: {result['notes']}; " + "; ".join(
        q["message"][:160] for nb in result["notebooks"].values() for q in nb["questions"])


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forgery_scores_nothing(graded, name):
    scores, flag, _ = FORGERIES[name]
    result = graded[name]
    assert _scores(result) == scores, _explain(result)
    if flag:
        assert any(flag in n for n in result["notes"]), _explain(result)


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_answer_keeps_its_points(graded, name):
    result = graded[name]
    assert result["status"] == "graded" and _scores(result) == FULL, _explain(result)
    flagged = [n for n in result["notes"] if REVIEW in n and "touch the interpreter's internals" not in n]
    assert not flagged, _explain(result)


def test_instructor_solution_of_01_activations_scores_full_marks(tmp_path_factory):
    """The sigmoid test switches torch.Tensor.sigmoid off and back on with setattr (issue 14).
    The instructor's notebook as it is and the reference submission (the release with the answers
    filled in), read from 01's round-trip class: graded once, with it (roundtrip_helpers.graded_class)."""
    if not SANDBOX_OK:
        pytest.fail(f"CI must run the sandbox tests: {SANDBOX_WHY}")
    results = graded_class("01_activations", tmp_path_factory).results
    for student in ("instructor", "reference"):
        result = results[student]
        assert result["score"] == result["max_score"] == 11, (student, _explain(result))
        assert not any(REVIEW in n for n in result["notes"]), (student, result["notes"])
