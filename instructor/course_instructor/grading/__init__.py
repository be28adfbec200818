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

Guarantees (Linux with bubblewrap; tests/test_grading.py checks each with a hostile submission):

- student code cannot reach the network, the gradebook, ``solutions/``, the repository, other
  submissions or the grader's processes; it runs as an unprivileged uid with no capabilities;
- hidden tests are not in the sandbox before their cell runs (the kernel receives cells one by one);
- memory (address space per process), CPU seconds, processes and file sizes are limited; every cell
  has a timeout, every notebook a wall-clock limit; a hung or dead kernel is killed with its whole
  PID namespace, restarted, and grading continues; nothing a submission does stops the batch;
- a test cell's score depends only on whether it raised: stderr output and warnings cost nothing;
- monkeypatching ``course_utils.checks``, builtins, NumPy, torch (module functions and
  ``torch.Tensor`` methods), rebinding the notebook's module names or IPython input hooks before
  or during a test does not turn a wrong answer into points.

Limits (honest): the guard shares the interpreter with the student's code, so code written to
defeat *this* grader (finding the guard through ``gc``, replacing the kernel's message handlers,
threads that patch and un-patch around a check) can still fake a pass; such answers are flagged
"for review" by a static scan, not prevented. No seccomp filter; the memory limit is per process
(RLIMIT_AS), so ``nproc`` forked processes could each use that much; a sandbox's tmpfs counts
against RAM. Without root the process limit is relative to the instructor's own processes.
Cells a student adds outside answer cells are not run, and cells after the last test cell are not
run either (their outputs are not in the feedback).
"""
__all__ = ["grade_assignment", "main"]


def __getattr__(name):  # lazy: the grading kernel imports only .guard, without nbgrader
    if name in __all__:
        from . import cli

        return getattr(cli, name)
    raise AttributeError(name)
