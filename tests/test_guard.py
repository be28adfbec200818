"""The grading guard (course_instructor.grading.guard) and the test namespace, in a plain interpreter.

Each test runs a short script in a fresh Python process (the guard installs an audit hook that
stays for the life of the process): snapshot, then what an answer or a test cell would do, then
restore/verify. Fast (no kernel, no sandbox); tests/test_forgery.py grades the same classes
through course-grade.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import sys
import numpy as np, torch, types
from course_utils import checks
from course_instructor.grading import guard
ns = {"np": np, "torch": torch, "checks": checks}
assert guard.snapshot(ns).startswith(guard.OK)
DIGEST = guard._digest()

def verify_fails(word):
    try:
        guard.verify()
    except RuntimeError as err:
        assert word in str(err), err
        return
    raise AssertionError("verify() passed")
"""


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_restoring_an_inherited_method_with_setattr_is_no_change():
    """01_activations' sigmoid test: getattr/setattr of torch.Tensor.sigmoid adds a key to the class dict."""
    run("""
        guard.restore()
        original = torch.Tensor.sigmoid
        setattr(torch.Tensor, "sigmoid", None)
        setattr(torch.Tensor, "sigmoid", original)
        assert "sigmoid" in vars(torch.Tensor)
        assert guard.verify().startswith(guard.OK)
        assert "| " not in guard.restore(), "an inherited method put back is not worth a review"
    """)


def test_caches_python_writes_are_no_change():
    run("""
        import io
        guard.restore()
        torch.save(torch.ones(2), io.BytesIO())           # copyreg caches torch.Tensor.__slotnames__
        torch.nn.Module.__annotations__                   # created lazily
        import numpy.polynomial                           # binds a submodule on numpy
        assert guard.verify().startswith(guard.OK)
    """)


def test_torch_loading_its_compiler_after_the_snapshot_is_no_change():
    """An optimizer's first step imports torch._dynamo (seed_everything no longer does), which adds
    op namespaces to torch.ops, wraps torch.manual_seed and fills a hook slot: torch's own changes."""
    run("""
        assert "torch._dynamo" not in sys.modules
        guard.restore()
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model(torch.ones(2, 3)).sum().backward()
        optimizer.step()
        assert "torch._dynamo" in sys.modules and torch.manual_seed is not torch.random.manual_seed
        assert guard.verify().startswith(guard.OK)
        report = guard.restore()
        assert "| " not in report, report
        assert torch.manual_seed is not torch.random.manual_seed   # left as torch made it
        torch.manual_seed(0)
    """)


@pytest.mark.parametrize("patch, word", [
    ("vars(checks)['bool'] = lambda v: True", "course_utils.checks.bool (added)"),
    ("import numpy._core.fromnumeric as f; f._wrapreduction_any_all = lambda *a, **k: np.True_",
     "numpy._core.fromnumeric._wrapreduction_any_all"),
    ("checks.check_close.__code__ = (lambda *a, **k: None).__code__", "check_close (code)"),
    ("torch.Tensor.tolist = lambda self: []", "torch.Tensor.tolist"),
    # the shapes of torch's own lazy changes (test below), made by a student: still patches
    ("torch.manual_seed = torch._disable_dynamo(lambda *a, **k: None)", "torch.manual_seed"),
    ("torch.ops.my_ops = types.ModuleType('torch.ops.my_ops')", "torch.ops.my_ops (added)"),
    ("torch.ops.aten = torch._ops._OpNamespace('aten')", "torch.ops.aten"),
    ("torch.ops.mine = torch._ops._OpNamespace('aten')", "torch.ops.mine (added)"),
    ("torch.ops.sub = type('NS', (torch._ops._OpNamespace,), {})('sub')", "torch.ops.sub (added)"),
    ("vars(sys.modules['torch._higher_order_ops.invoke_leaf_function'])['_leaf_function_module_retriever'] = print",
     "_leaf_function_module_retriever"),
])
def test_patches_are_undone_before_and_void_the_test_during(patch, word):
    run(f"""
        {patch}
        report = guard.restore()
        assert {word!r} in report, report                 # undone before the test, and reported
        assert not np.all(np.array([False]))
        {patch}
        verify_fails({word!r})                            # made during the test: the test does not count
        assert guard.restore().startswith(guard.OK + " " + DIGEST)
    """)


def test_trace_functions_are_seen_even_through_a_saved_reference_and_a_fake_gettrace():
    run("""
        import sys
        settrace = sys.settrace
        sys.gettrace = lambda: None
        guard.restore()
        settrace(lambda *a: None)
        verify_fails("sys.settrace")
        assert sys.gettrace() is None and guard._SYS["gettrace"]() is None
    """)


def test_clearing_the_guard_record_or_state_is_noticed():
    run("""
        guard.restore()
        guard._events.clear()
        verify_fails("record was cleared")
        guard._state.clear()
        assert guard.restore() == guard.OK + " none"      # the grader compares this with DIGEST
        try:
            guard.verify.__code__ = (lambda: guard.OK).__code__
        except RuntimeError:
            pass
        else:
            raise AssertionError("the guard's code could be swapped")
    """)


def test_a_test_cells_names_do_not_overwrite_the_students():
    """The hidden tests of 04_convolution bind `_F` (an int) at module level."""
    from course_instructor.grading import namespace

    class Shell:
        user_module = None
        user_ns = None

    student = {"_F": "the student's module", "relu": "student's relu"}
    shell = Shell()
    token = namespace.enter(shell, student)
    exec("_F = 3\nx = 1\nseen = relu", shell.user_ns)
    namespace.leave(shell, token)
    assert student["_F"] == "the student's module" and student["x"] == 1 and student["seen"] == "student's relu"
    token = namespace.enter(shell, student)
    assert shell.user_ns["_F"] == 3, "a later test cell sees what an earlier one bound"
    namespace.leave(shell, token)
    student["x"] = 2  # the student rebinds a name after the test: the student's binding wins
    token = namespace.enter(shell, student)
    assert shell.user_ns["x"] == 2
    namespace.leave(shell, token)
