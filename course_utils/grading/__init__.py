"""Hardened, parallel autograding on top of nbgrader (the ``course-grade`` command).

Pipeline for each submission (``cli.Grader.grade``), N at a time:

1. **collect** (:mod:`.collect`): nbgrader's ``submitted/`` layout, a flat folder or an LMS zip.
2. **repair** (:mod:`.repair`): the instructor's notebook with only the student's answer cells
   transplanted in (by ``grade_id``), which undoes duplicated, deleted or edited test cells,
   changed points or cell types, fake graded cells, kernelspec and file-name changes (each
   noted); unreadable files get the status "invalid".
3. **execute** (:mod:`.execute`): cell by cell in a kernel inside a bubblewrap sandbox
   (:mod:`.sandbox`), test cells sent only when they run, each preceded by a restore of the
   pristine modules and followed by an integrity check (:mod:`.guard`); per-cell timeout, a
   wall-clock limit per notebook, kernel restarts that skip the offending cell.
4. **record** (:mod:`.nbgrader_io`): nbgrader's SaveAutoGrades writes the scores into
   ``gradebook.db`` from one thread; the executed notebook goes to ``autograded/``, so
   ``nbgrader generate_feedback``, ``export`` and the formgrader work as usual.
5. **report** (:mod:`.report`): grades CSV, summary, grade-distribution figure.
"""
__all__ = ["grade_assignment", "main"]


def __getattr__(name):  # lazy: the grading kernel imports only .guard, without nbgrader
    if name in __all__:
        from . import cli

        return getattr(cli, name)
    raise AttributeError(name)
