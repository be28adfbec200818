"""Hardened, parallel autograding on top of nbgrader (the ``course-grade`` command).

Pipeline for each submission (``cli.Grader.grade``, N at a time), as stages in the manner of
nbgrader's preprocessors (:mod:`.stages`: each a small class with ``process(state) -> state``,
configured by the grader's keyword options; the result is a typed ``cli.SubmissionResult``):

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

Guarantees (Linux with bubblewrap; tests/test_grading.py and tests/test_forgery.py check each with a
hostile submission):

- student code cannot reach the network, the gradebook, ``solutions/``, the repository, other
  submissions or the grader's processes; it runs as an unprivileged uid with no capabilities;
- hidden tests are not in the sandbox before their cell runs (the kernel receives cells one by one);
- memory (address space per process), CPU seconds, processes and file sizes are limited; every cell
  has a timeout, every notebook a wall-clock limit; a hung or dead kernel is killed with its whole
  PID namespace, restarted, and grading continues; nothing a submission does stops the batch;
- a test cell's score depends only on whether it raised: stderr output and warnings cost nothing;
- a test cell runs in a namespace of its own layered over the student's (:mod:`.namespace`): the
  names hidden tests bind at module level never overwrite the student's globals, even while the
  test runs, and names earlier test cells bound stay visible to later ones;
- before each test the guard (:mod:`.guard`) puts back, and flags "for review", what an answer
  changed in the modules the checks and tests use -- whole module dicts, including keys added and
  NumPy's/torch's private submodules; ``torch.Tensor``, ``torch.nn.Module`` and IPython's shell
  classes; the code, defaults and closures of every function found there (a swapped
  ``check_close.__code__``); ``sys``'s hooks, trace and profile functions, torch function/dispatch
  modes; IPython's input transformers (cleanup, line, token, post), AST transformers, events and
  the kernel's message handlers. Classes are compared by *effective* attribute (restoring an
  inherited method with ``setattr`` is no change) and caches Python writes itself
  (``__slotnames__`` from ``torch.save``/pickle, ``__annotations__``, ``__warningregistry__``,
  submodules bound on import) are ignored, so honest answers keep their points; so are the changes
  torch makes itself when its compiler loads after the snapshot (an optimizer's first step):
  ``torch.ops`` namespaces of torch's own class, ``torch.manual_seed`` wrapped by torch's
  ``_disable_dynamo`` code around the very function saved, one compiled-graph hook slot
  (``guard._compiler_loaded``; the same shapes with other values are patches);
- the test does not count, and the submission is flagged "for review", if during the test any of
  these changed, or a watched operation ran (seen by a :pep:`578` audit hook, which cannot be
  removed: ``sys.settrace``/``setprofile`` -- also through a saved reference --, ``gc``
  introspection, ``ctypes``, a function's code swapped), or the guard's own saved state or record
  was cleared (its digest and canary are checked by the grader);
- while tests run, torch's ``__torch_function__`` overrides and modes are switched off, and the
  checks (``course_utils.checks.plain``) read answers without running any of their code (exact
  base types; tensor and ndarray subclasses unwrapped, ``__torch_dispatch__`` subclasses and
  objects with conversion hooks refused), so an answer cannot read the expected value from the
  check's frame.

Limits (honest): the comparison runs in the student's interpreter (moving it to a trusted process
would mean rewriting every lesson's test cells to record outputs instead of asserting; not done).
So code written against *this* grader's protocol (replacing the guard's functions with fakes that
compute the right digest, replacing the kernel's message handlers between two grader requests,
threads that patch and un-patch around a check, methods of a student's own tensor subclass called
directly by a test cell) can still fake a pass; what such code needs is flagged "for review" (the
audit hook, new threads running student code, the static scan of answer cells), not prevented.
Modules first imported after the snapshot (torch's compiler, when honest lesson code loads it
between two exercises; ``seed_everything`` no longer does) are not compared, as any module
imported late: code the checks reach only through them (``torch.manual_seed``'s and an
optimizer's dynamo wrapper) could be patched unseen; an answer's code already runs inside the
checks that call it. No seccomp filter; the memory limit is per process (RLIMIT_AS), so ``nproc`` forked processes
could each use that much; a sandbox's tmpfs counts against RAM. Without root the process limit is
relative to the instructor's own processes. Cells a student adds outside answer cells are not run,
and cells after the last test cell are not run either (their outputs are not in the feedback).
"""
__all__ = ["grade_assignment", "main"]


def __getattr__(name):  # lazy: the grading kernel imports only .guard, without nbgrader
    if name in __all__:
        from . import cli

        return getattr(cli, name)
    raise AttributeError(name)
