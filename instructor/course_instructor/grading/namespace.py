"""Runs inside the grading kernel: a test cell's names never overwrite the student's.

A test cell runs in a namespace of its own, layered over the student's
(:func:`enter` before the cell, :func:`leave` after it, both called by
:mod:`course_instructor.grading.guard`):

- it starts as a copy of the student's namespace, so the tests see the student's functions;
- the names earlier test cells bound are visible to later ones, unless the student rebound the
  name since (the order in which a notebook's cells ran, as in Jupyter);
- what the test cell binds stays there. The student's functions read their own globals (the
  student's namespace), so a hidden test's module-level ``_F = 3`` cannot break a student's
  ``_F = torch.nn.functional`` even while the test runs;
- afterwards, the names the test cell introduced that the student never bound are copied into
  the student's namespace, so scratch code in a later answer cell that uses a visible test's
  ``x`` works as it did in the student's own session; a student's binding is never overwritten.

IPython executes code in ``shell.user_module.__dict__`` (globals) and ``shell.user_ns`` (locals);
:func:`enter` points both at the test's namespace and :func:`leave` points them back.
"""
from __future__ import annotations

import re
import types

_HISTORY = re.compile(r"^(_+|_i+|_\d+|_i\d+|_ih|_oh|_dh|In|Out|_exit_code)$")  # IPython's own names
_MISSING = object()
_tests: dict = {}  # name -> (value a test cell bound, the student's binding of the name at that time)
_placed: dict = {}  # name -> value copied into the student's namespace by leave()


def enter(shell, student: dict):
    """Point IPython at a fresh test namespace; returns what :func:`leave` needs."""
    module = types.ModuleType("__main__")
    ns = module.__dict__
    ns.update(student)
    for name, (value, student_value) in _tests.items():
        if student.get(name, _MISSING) is student_value:
            ns[name] = value
    before = dict(ns)
    old = (shell.user_module, shell.user_ns) if shell is not None else None
    if shell is not None:
        shell.user_module, shell.user_ns = module, ns
    return student, ns, before, old


def leave(shell, token) -> None:
    """Point IPython back at the student's namespace and record the names the test bound."""
    student, ns, before, old = token
    if shell is not None and old is not None:
        shell.user_module, shell.user_ns = old
    for name, value in ns.items():
        if _HISTORY.match(name) or before.get(name, _MISSING) is value:
            continue
        current = student.get(name, _MISSING)
        _tests[name] = (value, current)
        if current is _MISSING or current is _placed.get(name, _MISSING):
            student[name] = _placed[name] = value
            _tests[name] = (value, value)
